import { loadConfig } from '../shared/platform/config';
import { temporalConnectionOptions } from '../shared/platform/temporal-connection';
import { createLogger, LogStoreSink } from '../shared/platform/logger';
import { attachLogStore } from '../db/queries/logs/store';
import { createKnex } from '../db/knex';
import { createMainWorker } from './runtime';
import { startConsoleGateway } from './console-gateway';
import { startProcessRuntime } from '../activities/system/process-runtime';
import { Client, Connection } from '@temporalio/client';
import { ensureLogRetentionSchedule } from '../api/logs/retention';

/** `npm run worker`: the main Temporal worker (task queue IDCFLOW_TASK_QUEUE), and its console gateway when IDCFLOW_CONSOLE_PORT is set. SIGINT/SIGTERM drain it. */
async function main() {
  const config = loadConfig();
  if (!config.databaseUrl || !config.temporalAddress) throw new Error('npm run worker needs DATABASE_URL and TEMPORAL_ADDRESS');
  const logStore = new LogStoreSink();
  const logger = createLogger(config.logLevel, 'idcflow-worker', { store: logStore });
  const knex = createKnex(config.databaseUrl);
  attachLogStore(logStore, knex);
  const { worker, connection } = await createMainWorker(config, knex, logger);
  const gateway = config.console.port ? await startConsoleGateway(config, knex, logger, { mainQueue: true, agentHosts: [] }) : null;
  const client = new Client({ connection: Connection.lazy(temporalConnectionOptions(config)), namespace: config.temporalNamespace });
  ensureLogRetentionSchedule(client, config).then((r) => logger.info({ schedule: r }, 'log retention schedule'))
    .catch((err) => logger.warn({ err }, 'could not set up the log retention schedule'));
  const system = await startProcessRuntime(knex, config, logger, { kind: 'worker', capabilities: ['workflows', 'activities', `queue:${config.taskQueue}`], metadata: { task_queue: config.taskQueue } });
  logger.info({ taskQueue: config.taskQueue, node: system.node.id }, 'worker polling');
  try {
    await worker.run();
  } finally {
    await system.stop();
    await gateway?.close();
    await connection.close();
    await client.connection.close();
    await logStore.close();
    await knex.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
