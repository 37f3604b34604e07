import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/activity';
import type { Knex } from 'knex';
import { unseal } from '../../shared/platform/crypto';
import { parseWgDump, renderSyncConf, type WgPeer } from '../../shared/netservices/wireguard';
import type { ActivityDeps } from '../platform/deps';

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

/** The peers the interface should have: enabled, unexpired clients, each with its addresses. */
async function desiredPeers(knex: Knex, serverId: number): Promise<WgPeer[]> {
  const rows: Row[] = await knex('wg_clients').where({ server_id: serverId, enabled: true })
    .where((q) => q.whereNull('expires_at').orWhere('expires_at', '>', knex.fn.now())).orderBy('id');
  return rows.map((c) => ({
    publicKey: c.public_key,
    allowedIps: [c.ipv4_address, c.ipv6_address].filter(Boolean).map((a: string) => (a.includes('/') ? a : `${a}/${a.includes(':') ? 128 : 32}`)),
  }));
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

    /**
     * Reads every running server's interface on this host (`wg show <if> dump`) into PostgreSQL: latest handshake and
     * bytes per client. A peer set that differs from the desired one (an expired client, an apply cut short) is applied again.
     */
    async netservicesWireguardCollect({ hostName }: { hostName: string }) {
      const servers: Row[] = await knex('wg_servers').join('hosts', 'hosts.id', 'wg_servers.host_id')
        .where({ 'hosts.name': hostName, 'wg_servers.desired_state': 'running' }).select('wg_servers.*');
      let read = 0;
      for (const s of servers) {
        if (!(await linkExists(s.interface))) continue;
        const dump = parseWgDump(await run('wg', ['show', s.interface, 'dump']));
        const at = new Date();
        for (const p of dump.peers) {
          await knex('wg_clients').where({ server_id: s.id, public_key: p.publicKey }).update({
            last_handshake: p.latestHandshake, bytes_received: p.transferRx, bytes_sent: p.transferTx, endpoint: p.endpoint, stats_at: at,
          });
        }
        await knex('wg_servers').where({ id: s.id }).update({ stats_at: at });
        const want = (await desiredPeers(knex, s.id)).map((p) => p.publicKey).sort().join();
        if (dump.peers.map((p) => p.publicKey).sort().join() !== want) await apply(s);
        read++;
      }
      return { servers: read };
    },
  };
}

export type WireguardHostActivities = Omit<ReturnType<typeof createWireguardHostActivities>, 'netservicesWireguardCollect'>;

