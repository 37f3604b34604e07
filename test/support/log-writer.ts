import { createKnex } from '../../db/knex';
import { attachLogStore } from '../../db/queries/logs/store';
import { createLogger, LogStoreSink } from '../../shared/platform/logger';

/** Another process writing to the log center as every idcflow process does (its logger's sink): argv module, marker. */
async function main() {
  const [module, marker] = process.argv.slice(2);
  const knex = createKnex(process.env.DATABASE_URL!, 1);
  const sink = new LogStoreSink({ intervalMs: 10 });
  attachLogStore(sink, knex);
  const logger = createLogger('warn', 'idcflow-writer', { store: sink });
  logger.error({ module: `${module}-other` }, `${marker} elsewhere`);
  logger.error({ module, reqId: 'writer-request-1' }, `${marker} from another process`);
  await sink.close();
  await knex.destroy();
  process.stdout.write('log written\n');
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err));
  process.exit(1);
});
