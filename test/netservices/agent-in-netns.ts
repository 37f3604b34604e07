import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Netns } from '../support/netns';
import { spawnEntrypoint, stopProcess, type Spawned } from '../support/processes';

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
 * runs (ip, wg, wireguard-go, birdc) acts on that namespace as it would on a host. The namespace's loopback cannot reach
 * the suite's PostgreSQL and Temporal, so each of their ports is relayed: socat listens on the same loopback port inside
 * the namespace and hands the connection to a unix socket (filesystem sockets cross network namespaces), where a socat
 * in the root namespace connects to the real port.
 */
export async function agentInNetns(ns: Netns, hostName: string, dir: string, extraEnv: NodeJS.ProcessEnv = {}) {
  const relays: ChildProcess[] = [];
  const ports = [Number(new URL(process.env.DATABASE_URL!).port), Number(process.env.TEMPORAL_ADDRESS!.split(':').pop())];
  fs.mkdirSync(dir, { recursive: true });
  for (const port of ports) {
    const sock = path.join(dir, `relay-${port}.sock`);
    relays.push(spawn('socat', [`UNIX-LISTEN:${sock},fork,unlink-early`, `TCP:127.0.0.1:${port}`], { stdio: 'ignore' }));
    await eventually(async () => fs.existsSync(sock), 10_000, `relay socket ${sock}`);
    relays.push(ns.spawn('socat', [`TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${sock}`]));
  }
  const env = { ...process.env, LOG_LEVEL: 'info', IDCFLOW_AGENT_HOST: hostName, IDCFLOW_AGENT_HEARTBEAT_SECONDS: '1', IDCFLOW_WG_STATS_SECONDS: '1', IDCFLOW_DATA_DIR: path.join(dir, 'data'), ...extraEnv };
  const start = async () => {
    // Give the namespace's relays a moment to listen: the agent connects at once.
    await eventually(async () => (await ns.exec('ss', ['-ltn']).catch(() => '')).includes(`127.0.0.1:${ports[1]}`), 10_000, 'relays listening');
    return spawnEntrypoint('workers/agent.ts', [], env, 'agent polling', 60_000, ['ip', 'netns', 'exec', ns.name]);
  };
  let agent: Spawned | null = await start();
  return {
    get agent() { return agent!; },
    async restart() { agent = await start(); },
    async kill() { await agent?.stop('SIGKILL'); agent = null; },
    async stop() {
      await agent?.stop();
      agent = null;
      await Promise.all(relays.map((r) => stopProcess(r, 'SIGTERM', 2000)));
    },
  };
}
