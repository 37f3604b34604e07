import path from 'node:path';
import { freePort, startEmbeddedPostgres, startTemporalDevServer } from '../../workers/embedded-services';
import { createKnex } from '../../db/knex';
import { migrateLatest } from '../../db/migrate';
import { ensureAdminUser } from '../../db/queries/users/bootstrap';

/** Runs the real services for the test suite in their own process; prints one JSON line when ready; stops on SIGTERM. */
async function main() {
  const dir = process.argv[2];
  const pg = await startEmbeddedPostgres(path.join(dir, 'pg'), await freePort());
  const temporal = await startTemporalDevServer({ dataDir: path.join(dir, 'temporal'), port: await freePort(), log: (m) => process.stderr.write(m + '\n') });
  const knex = createKnex(pg.databaseUrl, 1);
  await migrateLatest(knex);
  await ensureAdminUser(knex, { username: 'admin', password: process.env.IDCFLOW_ADMIN_PASSWORD, email: 'admin@example.test' });
  await knex.destroy();
  process.stdout.write(JSON.stringify({ databaseUrl: pg.databaseUrl, temporalAddress: temporal.address }) + '\n');
  const stop = async () => {
    await temporal.stop();
    await pg.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  setInterval(() => undefined, 60_000);
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err) + '\n');
  process.exit(1);
});
