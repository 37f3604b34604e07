import { loadConfig } from '../shared/config';
import { createLogger } from '../shared/logger';
import { createKnex } from '../db/knex';
import { createMainWorker } from './runtime';

/** `npm run worker`: the main Temporal worker (task queue IDCFLOW_TASK_QUEUE). SIGINT/SIGTERM drain it. */
async function main() {
  const config = loadConfig();
  if (!config.databaseUrl || !config.temporalAddress) throw new Error('npm run worker needs DATABASE_URL and TEMPORAL_ADDRESS');
  const logger = createLogger(config.logLevel, 'idcflow-worker');
  const knex = createKnex(config.databaseUrl);
  const { worker, connection } = await createMainWorker(config, knex, logger);
  logger.info({ taskQueue: config.taskQueue }, 'worker polling');
  try {
    await worker.run();
  } finally {
    await connection.close();
    await knex.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
