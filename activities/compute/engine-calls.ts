import { ApplicationFailure } from '@temporalio/activity';
import type { PowerAction } from '../../shared/compute/catalogue';
import { unseal } from '../../shared/platform/crypto';
import { consoleGatewayUrl } from '../../shared/platform/config';
import type { ActivityDeps } from '../platform/deps';
import { fail, heartbeating } from '../platform/failure';
import { driverFor, type EngineDriver, type HostRow } from './engines';
import { type EngineInstance, type InstanceSpec } from '../../shared/compute/contracts';
import type { ImageFetch, ImageInfo } from '../../shared/compute/contracts';
import { refuseFencedCopy } from '../availability/fencing';
import { faultPoint } from '../platform/fault-injection';

/** The engine calls: run on the main worker, or on the host's agent (task queue host:<name>). */
export function createEngineActivities({ knex, config }: ActivityDeps) {
  const driver = async (hostId: number) => {
    const host = await knex('hosts').where({ id: hostId }).whereNull('deleted_at').first();
    if (!host) throw ApplicationFailure.nonRetryable(`host ${hostId} not found`, 'RESOURCE_NOT_FOUND', { resource: 'host', id: String(hostId) });
    return driverFor(host as HostRow, config.masterKey);
  };

  /** The spec with its files' sealed contents opened: only here, inside the engine call. */
  const opened = (spec: InstanceSpec): InstanceSpec => (spec.files?.length
    ? { ...spec, files: spec.files.map((f) => ({ path: f.path, mode: f.mode, content: f.contentSealed ? unseal(f.contentSealed, config.masterKey) : f.content ?? '' })) }
    : spec);

  const imagesOf = (d: EngineDriver) => {
    if (!d.listImages || !d.fetchImage || !d.deleteImage) throw fail(`Engine ${d.type} keeps no image files on the host`, 'NOT_SUPPORTED');
    return d;
  };

  return {
    async engineCreate({ hostId, spec, passwordSealed }: { hostId: number; spec: InstanceSpec; passwordSealed?: string | null }): Promise<EngineInstance> {
      await refuseFencedCopy(knex, hostId, { uuid: spec.uuid });
      return heartbeating(async () => (await driver(hostId)).create({ ...opened(spec), password: passwordSealed ? unseal(passwordSealed, config.masterKey) : null }));
    },
    /** Creates the instance and starts it, in one call: its answer is the instance as the engine reports it after the start. */
    async engineCreateRunning({ hostId, spec, passwordSealed }: { hostId: number; spec: InstanceSpec; passwordSealed?: string | null }): Promise<EngineInstance> {
      const [, d] = await Promise.all([refuseFencedCopy(knex, hostId, { uuid: spec.uuid }), driver(hostId)]);
      return heartbeating(async () => {
        const full = { ...opened(spec), password: passwordSealed ? unseal(passwordSealed, config.masterKey) : null };
        if (d.createRunning) return d.createRunning(full);
        const created = await d.create(full);
        await faultPoint('engineCreateRunning.created');
        return d.power(created.ref, 'start');
      });
    },
    async engineUpdate({ hostId, ref, spec, running }: { hostId: number; ref: string; spec: InstanceSpec; running?: boolean }): Promise<EngineInstance> {
      return heartbeating(async () => (await driver(hostId)).update(ref, opened(spec), running));
    },
    async engineDelete({ hostId, ref }: { hostId: number; ref: string }): Promise<{ existed: boolean }> {
      return heartbeating(async () => ({ existed: await (await driver(hostId)).delete(ref) }));
    },
    async enginePower({ hostId, ref, action }: { hostId: number; ref: string; action: PowerAction }): Promise<EngineInstance> {
      if (['start', 'resume', 'reset', 'hard_reset'].includes(action)) await refuseFencedCopy(knex, hostId, { ref });
      return heartbeating(async () => (await driver(hostId)).power(ref, action));
    },
    async engineStatus({ hostId, ref }: { hostId: number; ref: string }): Promise<EngineInstance | null> {
      return heartbeating(async () => (await driver(hostId)).status(ref));
    },
    async engineStats({ hostId, ref }: { hostId: number; ref: string }) {
      return heartbeating(async () => (await driver(hostId)).stats(ref));
    },
    async engineList({ hostId }: { hostId: number }): Promise<EngineInstance[]> {
      return heartbeating(async () => (await driver(hostId)).list());
    },
    /** The engine answers its list: a health probe that returns only how many instances it has. */
    async engineProbe({ hostId }: { hostId: number }): Promise<{ instances: number }> {
      return heartbeating(async () => ({ instances: (await (await driver(hostId)).list()).length }));
    },
    async engineSetPassword({ hostId, ref, passwordSealed }: { hostId: number; ref: string; passwordSealed: string }): Promise<{ applied: 'now' | 'next_boot' }> {
      const result = await heartbeating(async () => (await driver(hostId)).setPassword(ref, unseal(passwordSealed, config.masterKey)));
      return result ?? { applied: 'now' };
    },
    /** A terminal or VNC console is served by this process's gateway: the answer names it, the API adds a ticket. */
    async engineConsole({ hostId, ref }: { hostId: number; ref: string }): Promise<{ type: string; url: string; expires_at: string | null }> {
      const access = await heartbeating(async () => (await driver(hostId)).console(ref));
      if (!('url' in access)) {
        const url = consoleGatewayUrl(config);
        if (!url) throw fail('The worker that serves this host runs no console gateway (set IDCFLOW_CONSOLE_PORT on it)', 'NOT_SUPPORTED');
        return { type: access.type, url, expires_at: null };
      }
      return access;
    },
    async engineListImages({ hostId }: { hostId: number }): Promise<ImageInfo[]> {
      return heartbeating(async () => imagesOf(await driver(hostId)).listImages!());
    },
    async engineFetchImage({ hostId, image }: { hostId: number; image: ImageFetch }): Promise<ImageInfo> {
      return heartbeating(async () => imagesOf(await driver(hostId)).fetchImage!(image));
    },
    async engineDeleteImage({ hostId, name }: { hostId: number; name: string }): Promise<{ existed: boolean }> {
      return heartbeating(async () => ({ existed: await imagesOf(await driver(hostId)).deleteImage!(name) }));
    },
    async engineHostStats({ hostId }: { hostId: number }) {
      return heartbeating(async () => (await driver(hostId)).hostStats());
    },
  };
}

export type EngineActivities = ReturnType<typeof createEngineActivities>;
