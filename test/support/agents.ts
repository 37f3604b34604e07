import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnEntrypoint, type Spawned } from './processes';
import { enrollAgent } from '../../activities/compute/agent-identity';

/** What the agent helpers need of an API: its address, raw calls and the admin's token (a TestApi or an apiClient). */
export interface AgentApiClient {
  url: string;
  admin(): Promise<string>;
  call(method: string, path: string, opts?: { token?: string; body?: unknown }): Promise<{ status: number; body: any; text: string }>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A one-time join token for the host, as an admin gets it (POST /hosts/:id/join-tokens). */
export async function joinToken(api: AgentApiClient, hostId: number, ttlSeconds?: number): Promise<string> {
  const res = await api.call('POST', `/api/v1/hosts/${hostId}/join-tokens`, { token: await api.admin(), body: ttlSeconds ? { ttl_seconds: ttlSeconds } : {} });
  if (res.status !== 201) throw new Error(`join token for host ${hostId}: ${res.status} ${res.text}`);
  return res.body.data.token as string;
}

/** A fresh directory for an agent's identity (IDCFLOW_AGENT_DIR), under the suite's temporary directory. */
export function agentDir(name: string): string {
  const base = process.env.IDCFLOW_DATA_DIR ? path.join(process.env.IDCFLOW_DATA_DIR, '..', 'agents') : os.tmpdir();
  fs.mkdirSync(base, { recursive: true });
  return fs.mkdtempSync(path.join(base, `${name}-`));
}

/** Joins a host as its agent would, in this process (key made here, certificate from the API), keeping the identity in `dir`. */
export async function joinHost(api: AgentApiClient, hostId: number, dir = agentDir(`host${hostId}`)) {
  return enrollAgent(api.url, await joinToken(api, hostId), dir);
}

export interface AgentProcessOptions {
  /** Where the agent keeps its identity; a new directory when not given. */
  dir?: string;
  /** Join with a new token first (default); false: start with the identity already in `dir`. */
  join?: boolean;
  /** Runs the agent through another command that execs it (e.g. `ip netns exec <ns>`). */
  wrap?: string[];
  /** The API address the agent joins through (default the API's own). */
  apiUrl?: string;
  readyLine?: string;
}

/**
 * The host's agent as a real process (workers/agent.ts), joined the way an operator joins one: a join token from the
 * API, then `--join <api-url> <token>`; with `join: false` it restarts with the identity it kept.
 */
export async function spawnAgent(api: AgentApiClient, host: { id: number }, env: NodeJS.ProcessEnv, opts: AgentProcessOptions = {}): Promise<Spawned & { dir: string }> {
  const dir = opts.dir ?? agentDir(`host${host.id}`);
  const args = opts.join === false ? [] : ['--join', opts.apiUrl ?? api.url, await joinToken(api, host.id)];
  const { IDCFLOW_AGENT_HOST: _ignored, ...rest } = env;
  const spawned = await spawnEntrypoint('workers/agent.ts', args, { ...rest, IDCFLOW_AGENT_DIR: dir }, opts.readyLine ?? 'agent polling', 60_000, opts.wrap ?? []);
  return { ...spawned, dir };
}
