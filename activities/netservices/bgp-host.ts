import fs from 'node:fs';
import { execFile } from 'node:child_process';
import { ApplicationFailure } from '@temporalio/activity';
import type { Knex } from 'knex';
import { unseal } from '../../shared/platform/crypto';
import { parseBirdProtocols, renderBirdConfig } from '../../shared/netservices/bird';
import type { BgpSessionReport } from '../../db/queries/netservices/host-reports';
import type { ActivityDeps } from '../platform/deps';
import type { BgpTarget } from '../compute/agent-api';

type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** birdc's answer, whatever its exit code (a refused configuration exits 1 and says why on stdout). */
function birdc(socket: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('birdc', ['-s', socket, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return reject(ApplicationFailure.nonRetryable('birdc is not installed on this host', 'HOST_COMMAND_FAILED'));
      if (err && !stdout) return reject(ApplicationFailure.retryable(`birdc ${args.join(' ')}: ${(stderr || err.message).trim()}`, 'HOST_COMMAND_FAILED'));
      resolve(stdout.replace(/^BIRD [^\n]* ready\.\n/, ''));
    });
  });
}

const numbers = (text: string | null, sep: RegExp) => (text ?? '').split(sep).map((s) => s.trim()).filter(Boolean).map(Number);

async function desiredConfig(knex: Knex, hostId: number, masterKey: Buffer): Promise<string> {
  const sessions: Row[] = await knex('bgp_sessions').where({ host_id: hostId }).orderBy('id');
  const announcements: Row[] = await knex('bgp_announcements').where({ host_id: hostId, enabled: true }).orderBy('id');
  return renderBirdConfig(
    sessions.map((s) => ({
      id: s.id, name: s.name, neighbor: s.neighbor, remoteAs: Number(s.remote_as), localAs: Number(s.local_as),
      password: s.password_sealed ? unseal(s.password_sealed, masterKey) : null, enabled: s.enabled,
    })),
    announcements.map((a) => ({
      prefix: a.prefix, nextHop: a.next_hop ?? null, asPath: numbers(a.as_path, /\s+/),
      communities: (a.community ?? '').split(/[\s,]+/).filter(Boolean).map((c: string) => c.split(':').map(Number) as [number, number]),
    })),
  );
}

const statusOf = (p: ReturnType<typeof parseBirdProtocols>[number]) =>
  (p.state === 'down' ? 'disabled' : (p.bgpState ?? p.state).toLowerCase());

/** What BIRD says of the sessions' protocols (`birdc show protocols all`): state, since, last error, routes in and out. */
export async function readBgp(targets: BgpTarget[], socket: string): Promise<BgpSessionReport[]> {
  if (!targets.length || !fs.existsSync(socket)) return [];
  const protocols = parseBirdProtocols(await birdc(socket, ['show', 'protocols', 'all']));
  return targets.flatMap((t) => {
    const p = protocols.find((x) => x.name === t.protocol);
    if (!p) return [];
    const since = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(p.since) ? new Date(p.since.replace(' ', 'T')).toISOString() : null;
    return [{
      session_id: t.session_id, status: statusOf(p), info: p.info.slice(0, 255) || null, last_error: p.lastError?.slice(0, 255) ?? null, state_since: since,
      routes_received: p.imported, routes_advertised: p.exported,
    }];
  });
}

/** One apply at a time per agent: two changes never interleave writing the file and reconfiguring. */
let applying: Promise<unknown> = Promise.resolve();
function serialized<T>(work: () => Promise<T>): Promise<T> {
  const next = applying.then(work, work);
  applying = next.catch(() => undefined);
  return next;
}

export function createBgpHostActivities({ knex, config, agentApi }: ActivityDeps) {
  const paths = () => ({ file: config.netservices.birdConfig, socket: config.netservices.birdSocket });
  return {
    /**
     * Writes idcflow's include file, has BIRD check the whole configuration, and applies it without a restart (sessions
     * that did not change stay up). A configuration BIRD refuses is taken back: the previous file is restored, nothing applied.
     */
    netservicesBgpApply: ({ hostId }: { hostId: number }) => serialized(async () => {
      const { file, socket } = paths();
      const next = await desiredConfig(knex, hostId, config.masterKey);
      const previous = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      const write = (text: string) => { fs.writeFileSync(`${file}.tmp`, text, { mode: 0o600 }); fs.renameSync(`${file}.tmp`, file); };
      write(next);
      const check = await birdc(socket, ['configure', 'check']);
      if (!/Configuration OK/.test(check)) {
        write(previous);
        throw ApplicationFailure.nonRetryable(`BIRD refused the configuration; the previous one stays: ${check.trim()}`, 'VALIDATION_ERROR', { bird: check.trim() });
      }
      const applied = await birdc(socket, ['configure']);
      if (!/Reconfigur/.test(applied)) {
        write(previous);
        throw ApplicationFailure.retryable(`birdc configure: ${applied.trim()}`, 'HOST_COMMAND_FAILED');
      }
      return { applied: true, bird: applied.trim().split('\n').pop() };
    }),

    /** Reads this host's sessions from BIRD and reports them through the agent's own API identity (never the database). */
    async netservicesBgpCollect({ hostName }: { hostName: string }) {
      if (!agentApi || agentApi.identity.hostName !== hostName) {
        throw ApplicationFailure.nonRetryable(`BGP sessions of host ${hostName} are read by that host's agent only`, 'HOST_COMMAND_FAILED', { host: hostName });
      }
      const { bgp } = await agentApi.netservicesTargets();
      const read = await readBgp(bgp, paths().socket);
      if (read.length) await agentApi.netservicesReport({ wireguard: [], bgp: read });
      return { sessions: read.length };
    },
  };
}

export type BgpHostActivities = Pick<ReturnType<typeof createBgpHostActivities>, 'netservicesBgpApply' | 'netservicesBgpCollect'>;
