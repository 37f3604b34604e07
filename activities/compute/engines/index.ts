import { ApplicationFailure } from '@temporalio/activity';
import { ENGINES, type EngineType } from '../../../shared/compute/catalogue';
import { unseal } from '../../../shared/platform/crypto';
import { DockerDriver } from './docker';
import { LibvirtDriver, type LibvirtOptions } from './libvirt';
import { SimulatorDriver, type SimulatorOptions } from './simulator';
import type { EngineDriver } from './types';
import type { HostRow as StoreHostRow } from '../../../db/queries/compute/hosts';

/** What a driver needs of a host's row (the store's `HostRow`); `updated_at` may come through a workflow as text. */
export type HostRow = Pick<StoreHostRow, 'id' | 'name' | 'address' | 'username' | 'password_sealed' | 'private_key_sealed' | 'tls_key_sealed' | 'engine_type' | 'options'> & {
  updated_at: Date | string;
};

const cache = new Map<string, EngineDriver>();

/** The driver for a host; secrets are unsealed here, inside the activity, and never leave it. */
export function driverFor(host: HostRow, masterKey: Buffer): EngineDriver {
  const key = `${host.id}:${new Date(host.updated_at).getTime()}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const info = ENGINES[host.engine_type as EngineType];
  if (!info) throw ApplicationFailure.nonRetryable(`Unknown engine type ${host.engine_type}`, 'VALIDATION_ERROR');
  if (!info.enabled) throw ApplicationFailure.nonRetryable(info.reason ?? `Engine ${host.engine_type} is not available`, 'NOT_SUPPORTED');
  const open = (v: string | null) => (v ? unseal(v, masterKey) : null);
  const opts = host.options ?? {};
  let driver: EngineDriver;
  if (info.type === 'docker') {
    driver = new DockerDriver({
      address: host.address, username: host.username, password: open(host.password_sealed), privateKey: open(host.private_key_sealed),
      tlsKey: open(host.tls_key_sealed), tlsCa: (opts.tls_ca as string) ?? null, tlsCert: (opts.tls_cert as string) ?? null, network: (opts.network as string) ?? null, hostName: host.name,
      tenantNetworks: opts.tenant_networks !== false, allowNetRaw: opts.allow_net_raw === true,
    });
  } else if (info.type === 'libvirt_qemu') {
    driver = new LibvirtDriver(host.address === 'local' ? 'qemu:///system' : host.address, { image_dir: (host as { images_path?: string | null }).images_path ?? undefined, ...(opts as LibvirtOptions) }, host.name);
  } else {
    driver = new SimulatorDriver(host.name, opts as SimulatorOptions);
  }
  for (const k of cache.keys()) if (k.startsWith(`${host.id}:`)) cache.delete(k);
  cache.set(key, driver);
  return driver;
}

export type { EngineDriver } from './types';
