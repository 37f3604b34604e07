import { loadConfig } from '../shared/platform/config';
import { createLogger } from '../shared/platform/logger';
import { createKnex } from '../db/knex';
import { createMainWorker } from './runtime';
import { startConsoleGateway } from './console-gateway';
import { startProcessRuntime } from '../activities/system/process-runtime';

/** `npm run worker`: the main Temporal worker (task queue IDCFLOW_TASK_QUEUE), and its console gateway when IDCFLOW_CONSOLE_PORT is set. SIGINT/SIGTERM drain it. */
async function main() {
  const config = loadConfig();
  if (!config.databaseUrl || !config.temporalAddress) throw new Error('npm run worker needs DATABASE_URL and TEMPORAL_ADDRESS');
  const logger = createLogger(config.logLevel, 'idcflow-worker');
  const knex = createKnex(config.databaseUrl);
  const { worker, connection } = await createMainWorker(config, knex, logger);
  const gateway = config.console.port ? await startConsoleGateway(config, knex, logger, { mainQueue: true, agentHosts: [] }) : null;
  const system = await startProcessRuntime(knex, config, logger, { kind: 'worker', capabilities: ['workflows', 'activities', `queue:${config.taskQueue}`], metadata: { task_queue: config.taskQueue } });
  logger.info({ taskQueue: config.taskQueue, node: system.node.id }, 'worker polling');
  try {
    await worker.run();
  } finally {
    await system.stop();
    await gateway?.close();
    await connection.close();
    await knex.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
