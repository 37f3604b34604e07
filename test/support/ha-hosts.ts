import fs from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import type { TestApi } from './api';
import { addHost, uniq } from './compute';
import { podmanMissing, startPodman, type PodmanService } from './podman';
import type { Spawned } from './processes';
import { spawnAgent } from './agents';

/** Settings that make health and agents quick in HA tests: 1 s heartbeats, offline after 4 s, unhealthy after 2 failed rounds. */
export const HA_TEST_ENV = {
  IDCFLOW_AGENT_HEARTBEAT_SECONDS: '1', IDCFLOW_AGENT_OFFLINE_SECONDS: '4', IDCFLOW_AGENT_WAIT_SECONDS: '5',
  IDCFLOW_HEALTH_UNHEALTHY_AFTER: '2', IDCFLOW_HEALTH_HEALTHY_AFTER: '2', IDCFLOW_HEALTH_PROBE_SECONDS: '3', IDCFLOW_HA_MOVES_AT_ONCE: '4',
};

/** One test host: its own Podman engine (storage and bridge network of its own) and its own agent process. */
export interface HaHost {
  id: number;
  name: string;
  podman: PodmanService;
  docker: Docker;
  agent: Spawned | null;
  /** Its agent, joined with a new token each time (a fenced host must be joined again). */
  startAgent(): Promise<void>;
  /** Engine and agent go away at once, without notice (the agent is SIGKILLed; the containers keep running). */
  cut(): Promise<void>;
  restore(): Promise<void>;
  /** idcflow's containers on this engine: uuid → state. */
  containers(): Promise<Map<string, string>>;
}

/** Why two Podman hosts cannot run here (the suite's own Podman could not), or null. */
export const haHostsSkip = (): string | null => podmanMissing();

/**
 * Two (or more) real hosts for HA tests, each a Podman Docker API service with an agent. Subnets must be unique per test
 * file and outside the pools Podman hands out (10.88.0.0/16 and 10.89.0.0/16 upward), so no other engine's network meets them.
 */
export async function startHaHosts(api: TestApi, subnets: string[]): Promise<HaHost[]> {
  const base = path.join(process.env.IDCFLOW_DATA_DIR!, '..', uniq('ha-hosts'));
  return Promise.all(subnets.map(async (subnet, i) => {
    const dir = path.join(base, String.fromCharCode(97 + i));
    fs.mkdirSync(dir, { recursive: true });
    const podman = await startPodman(dir, { network: uniq('idcha').replace('-', ''), subnet });
    if ('skip' in podman) throw new Error(podman.skip);
    // Each engine's own bridge network (tenant_networks off): two engines on one machine must not pick the same subnets for tenant networks.
    const host = await addHost(api, { name: uniq(`ha${String.fromCharCode(97 + i)}`), engine_type: 'docker', address: `unix://${podman.socketPath}`, use_agent: true, options: { tenant_networks: false } });
    const env = { ...process.env, ...HA_TEST_ENV, LOG_LEVEL: 'info', CONTAINERS_CONF: podman.env.CONTAINERS_CONF };
    const h: HaHost = {
      ...host, podman, docker: new Docker({ socketPath: podman.socketPath }), agent: null,
      async startAgent() { h.agent = await spawnAgent(api, host, env); },
      async cut() {
        await h.agent?.stop('SIGKILL');
        h.agent = null;
        await podman.stopService();
      },
      async restore() {
        await podman.startService();
        await h.startAgent();
      },
      async containers() {
        const list = await h.docker.listContainers({ all: true, filters: { label: ['io.idcflow.managed=true'] } });
        return new Map(list.map((c) => [c.Labels['io.idcflow.uuid'], c.State]));
      },
    };
    await h.startAgent();
    return h;
  }));
}

export async function stopHaHosts(hosts: HaHost[]) {
  await Promise.all(hosts.map(async (h) => {
    await h.agent?.stop();
    await h.docker.ping().catch(() => h.podman.startService()); // a host cut off by a failed test: its containers must go too
    const left = await h.docker.listContainers({ all: true }).catch(() => []);
    await Promise.all(left.map((c) => h.docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    await h.podman.stop();
  }));
}
