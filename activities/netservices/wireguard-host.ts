import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/activity';
import { unseal } from '../../shared/platform/crypto';
import { parseWgDump, renderSyncConf } from '../../shared/netservices/wireguard';
import { desiredPeers, type WgServerReport } from '../../db/queries/netservices/host-reports';
import type { ActivityDeps } from '../platform/deps';
import type { WireguardTarget } from '../compute/agent-api';

const exec = promisify(execFile);

type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function run(cmd: string, args: string[]): Promise<string> {
  try {
    return (await exec(cmd, args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string; code?: string };
    if (e.code === 'ENOENT') throw ApplicationFailure.nonRetryable(`${cmd} is not installed on this host`, 'HOST_COMMAND_FAILED', { command: cmd });
    throw ApplicationFailure.retryable(`${cmd} ${args.join(' ')}: ${(e.stderr || e.message).trim()}`, 'HOST_COMMAND_FAILED');
  }
}

const linkExists = async (name: string) => exec('ip', ['link', 'show', 'dev', name]).then(() => true, () => false);

/**
 * The interface, made by the kernel module where the host has it, else by wireguard-go (detached: it outlives the agent,
 * and removing the link ends it). Nothing is made when the link is already there.
 */
async function ensureInterface(name: string, logDir: string): Promise<'existing' | 'kernel' | 'wireguard-go'> {
  if (await linkExists(name)) return 'existing';
  const kernel = await exec('ip', ['link', 'add', 'dev', name, 'type', 'wireguard']).then(() => true, () => false);
  if (kernel) return 'kernel';
  fs.mkdirSync(logDir, { recursive: true });
  const log = fs.openSync(path.join(logDir, `wireguard-go-${name}.log`), 'a');
  const child = spawn('wireguard-go', ['-f', name], { detached: true, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const failed = new Promise<string>((resolve) => { child.once('error', (e) => resolve(e.message)); child.once('exit', (code) => resolve(`exited with ${code}`)); });
  child.unref();
  for (let i = 0; i < 100; i++) {
    if (await linkExists(name)) return 'wireguard-go';
    const problem = await Promise.race([failed, new Promise<null>((r) => setTimeout(() => r(null), 50))]);
    if (problem) throw ApplicationFailure.nonRetryable(`wireguard-go ${name} ${problem} (see ${logDir})`, 'HOST_COMMAND_FAILED');
  }
  throw ApplicationFailure.retryable(`wireguard-go did not create ${name} within 5 s`, 'HOST_COMMAND_FAILED');
}

/** What the host's interfaces say (`wg show <if> dump`): latest handshake, bytes and endpoint per peer; interfaces not there are left out. */
export async function readWireguard(targets: WireguardTarget[]): Promise<WgServerReport[]> {
  const out: WgServerReport[] = [];
  for (const t of targets) {
    if (!(await linkExists(t.interface))) continue;
    const dump = parseWgDump(await run('wg', ['show', t.interface, 'dump']));
    out.push({
      server_id: t.server_id,
      peers: dump.peers.map((p) => ({
        public_key: p.publicKey, latest_handshake: p.latestHandshake?.toISOString() ?? null, transfer_rx: p.transferRx, transfer_tx: p.transferTx, endpoint: p.endpoint,
      })),
    });
  }
  return out;
}

/** Applies go one at a time per server within an agent, so two syncs never interleave their commands. */
const queues = new Map<number, Promise<unknown>>();
function serialized<T>(serverId: number, work: () => Promise<T>): Promise<T> {
  const next = (queues.get(serverId) ?? Promise.resolve()).then(work, work);
  queues.set(serverId, next.catch(() => undefined));
  return next;
}

export function createWireguardHostActivities({ knex, config }: ActivityDeps) {
  const logDir = () => path.join(config.dataDir, 'wireguard');
  const serverRow = async (serverId: number): Promise<Row> => {
    const s = await knex('wg_servers').where({ id: serverId }).first();
    if (!s) throw ApplicationFailure.nonRetryable(`WireGuard server ${serverId} not found`, 'RESOURCE_NOT_FOUND');
    return s;
  };

  /** The whole desired state, every time: interface, private key, port, every peer (`wg syncconf`), addresses, MTU, up. */
  const apply = (s: Row) => serialized(s.id, async () => {
    const made = await ensureInterface(s.interface, logDir());
    const peers = await desiredPeers(knex, s.id);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-wg-'));
    try {
      const file = path.join(dir, `${s.interface}.conf`);
      fs.writeFileSync(file, renderSyncConf(unseal(s.private_key_sealed, config.masterKey), s.listen_port, peers), { mode: 0o600 });
      await run('wg', ['syncconf', s.interface, file]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    for (const address of [s.ipv4_address, s.ipv6_address].filter(Boolean)) await run('ip', ['address', 'replace', address, 'dev', s.interface]);
    if (s.mtu) await run('ip', ['link', 'set', 'dev', s.interface, 'mtu', String(s.mtu)]);
    await run('ip', ['link', 'set', 'dev', s.interface, 'up']);
    return { interface: s.interface, created: made, peers: peers.length };
  });

  return {
    async netservicesWireguardApply({ serverId }: { serverId: number }) {
      const s = await serverRow(serverId);
      if (s.desired_state !== 'running') return { interface: s.interface, applied: false, peers: 0 };
      return { ...(await apply(s)), applied: true };
    },

    async netservicesWireguardDown({ serverId }: { serverId: number }) {
      const s = await serverRow(serverId);
      return serialized(s.id, async () => {
        const existed = await linkExists(s.interface);
        if (existed) await run('ip', ['link', 'del', 'dev', s.interface]);
        return { interface: s.interface, removed: existed };
      });
    },
  };
}

export type WireguardHostActivities = ReturnType<typeof createWireguardHostActivities>;

