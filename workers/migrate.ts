import { loadConfig } from '../shared/platform/config';
import { createKnex } from '../db/knex';
import { migrateLatest } from '../db/migrate';
import { ensureAdminUser } from '../db/queries/users/bootstrap';
import { createTemporalClient, registerSearchAttributes } from './temporal-setup';
import { ensureMonitoringSchedules } from '../api/monitoring/schedules';

/** `npm run migrate`: database migrations and Temporal search attributes against external services. */
async function main() {
  const config = loadConfig();
  if (!config.databaseUrl) throw new Error('DATABASE_URL is required for npm run migrate');
  const knex = createKnex(config.databaseUrl, 1);
  try {
    const applied = await migrateLatest(knex);
    console.log(applied.length ? `Applied migrations: ${applied.join(', ')}` : 'Database is up to date');
    const admin = await ensureAdminUser(knex, config.admin);
    if (admin.generatedPassword) console.log(`Created admin ${config.admin.username} with password ${admin.generatedPassword} (shown once; change it)`);
  } finally {
    await knex.destroy();
  }
  if (config.temporalAddress) {
    await registerSearchAttributes(config);
    console.log('Temporal search attributes registered');
    const temporal = await createTemporalClient(config);
    try {
      await ensureMonitoringSchedules(temporal, config);
      console.log('Monitoring schedules (alert evaluation, metrics rollup) in place');
    } finally {
      await temporal.connection.close();
    }
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
