import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Netns } from '../support/netns';
import { stopProcess, type Spawned } from '../support/processes';
import { spawnAgent, type AgentApiClient } from '../support/agents';

/** Polls until `check` is truthy (also used by bench/, outside jest, so it does not import ../support/api). */
async function eventually(check: () => Promise<unknown>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A host agent that really lives in a test namespace (`ip netns exec <ns> node workers/agent.ts`), so every command it
 * runs (ip, wg, wireguard-go, birdc) acts on that namespace as it would on a host. It joins with a token of its own and
 * keeps its identity in `dir` (a restart uses it again). The namespace's loopback cannot reach the suite's API,
 * PostgreSQL and Temporal, so each of their ports is relayed: socat listens on the same loopback port inside the
 * namespace and hands the connection to a unix socket (filesystem sockets cross network namespaces), where a socat in
 * the root namespace connects to the real port.
 */
export async function agentInNetns(api: AgentApiClient, host: { id: number }, ns: Netns, dir: string, extraEnv: NodeJS.ProcessEnv = {}) {
  const relays: ChildProcess[] = [];
  const ports = [Number(new URL(api.url).port), Number(new URL(process.env.DATABASE_URL!).port), Number(process.env.TEMPORAL_ADDRESS!.split(':').pop())];
  fs.mkdirSync(dir, { recursive: true });
  for (const port of ports) {
    const sock = path.join(dir, `relay-${port}.sock`);
    relays.push(spawn('socat', [`UNIX-LISTEN:${sock},fork,unlink-early`, `TCP:127.0.0.1:${port}`], { stdio: 'ignore' }));
    await eventually(async () => fs.existsSync(sock), 10_000, `relay socket ${sock}`);
    relays.push(ns.spawn('socat', [`TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${sock}`]));
  }
  const env = { ...process.env, LOG_LEVEL: 'info', IDCFLOW_AGENT_HEARTBEAT_SECONDS: '1', IDCFLOW_WG_STATS_SECONDS: '1', IDCFLOW_DATA_DIR: path.join(dir, 'data'), ...extraEnv };
  const identityDir = path.join(dir, 'identity');
  const start = async (join: boolean) => {
    // Give the namespace's relays a moment to listen: the agent connects at once.
    const listening = async () => { const ss = await ns.exec('ss', ['-ltn']).catch(() => ''); return ports.every((p) => ss.includes(`127.0.0.1:${p}`)); };
    await eventually(listening, 10_000, 'relays listening');
    return spawnAgent(api, host, env, { dir: identityDir, join, wrap: ['ip', 'netns', 'exec', ns.name] });
  };
  let agent: Spawned | null = await start(true);
  return {
    get agent() { return agent!; },
    /** Starts it again with the identity it kept. */
    async restart() { agent = await start(false); },
    async kill() { await agent?.stop('SIGKILL'); agent = null; },
    async stop() {
      await agent?.stop();
      agent = null;
      await Promise.all(relays.map((r) => stopProcess(r, 'SIGTERM', 2000)));
    },
  };
}
