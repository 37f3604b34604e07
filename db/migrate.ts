import type { Knex } from 'knex';
import * as platform from './migrations/001_platform';
import * as compute from './migrations/002_compute';
import * as dbsync from './migrations/003_dbsync';
import * as computeConsoles from './migrations/004_compute_consoles';
import * as platformResourceLinks from './migrations/005_platform';
import * as networking from './migrations/006_networking';
import * as netservices from './migrations/007_netservices';
import * as userdata from './migrations/008_userdata';
import * as platformSecurity from './migrations/009_platform_security';
import * as oauth from './migrations/010_oauth';
import * as rentals from './migrations/011_rentals';
import * as availability from './migrations/012_availability';
import * as availabilityHa from './migrations/013_availability';
import * as monitoring from './migrations/014_monitoring';
import * as logs from './migrations/015_logs';
import * as system from './migrations/016_system';
import * as platformTwoFactor from './migrations/017_platform_two_factor';
import * as computeSshKeys from './migrations/018_compute';
import * as networkingWarnings from './migrations/019_networking';
import * as rentalsRelayTls from './migrations/020_rentals';
import * as platformSpeed from './migrations/021_platform';
import * as platformReconcile from './migrations/022_platform';
import * as webhooks from './migrations/023_webhooks';
import * as networkingAcme from './migrations/024_networking';
import * as webhooksOneStore from './migrations/025_webhooks';
import * as usersSearch from './migrations/026_users';
import * as computeConsoleGateways from './migrations/027_compute';
import * as usersSignup from './migrations/028_users';
import * as platformCredentialLifetime from './migrations/029_platform';
import * as dbsyncTenancy from './migrations/030_dbsync';
import * as computeEngineAddresses from './migrations/031_compute';
import * as networkingDomainProofs from './migrations/032_networking';
import * as netservicesTenancy from './migrations/033_netservices';
import * as oauthOwnersHashedTokens from './migrations/034_oauth';
import * as computeAgentIdentity from './migrations/035_compute';

/** Migrations are imported modules, so the same list runs from TypeScript sources and from dist/. */
/** Named NNN_<domain>, like their files. A new domain adds its file here. */
const migrations: Record<string, Knex.Migration> = {
  '001_platform': platform,
  '002_compute': compute,
  '003_dbsync': dbsync,
  '004_compute_consoles': computeConsoles,
  '005_platform': platformResourceLinks,
  '006_networking': networking,
  '007_netservices': netservices,
  '008_userdata': userdata,
  '009_platform_security': platformSecurity,
  '010_oauth': oauth,
  '011_rentals': rentals,
  '012_availability': availability,
  '013_availability': availabilityHa,
  '014_monitoring': monitoring,
  '015_logs': logs,
  '016_system': system,
  '017_platform_two_factor': platformTwoFactor,
  '018_compute': computeSshKeys,
  '019_networking': networkingWarnings,
  '020_rentals': rentalsRelayTls,
  '021_platform': platformSpeed,
  '022_platform': platformReconcile,
  '023_webhooks': webhooks,
  '024_networking': networkingAcme,
  '025_webhooks': webhooksOneStore,
  '026_users': usersSearch,
  '027_compute': computeConsoleGateways,
  '028_users': usersSignup,
  '029_platform': platformCredentialLifetime,
  '030_dbsync': dbsyncTenancy,
  '031_compute': computeEngineAddresses,
  '032_networking': networkingDomainProofs,
  '033_netservices': netservicesTenancy,
  '034_oauth': oauthOwnersHashedTokens,
  '035_compute': computeAgentIdentity,
};

/** Names an earlier release recorded in knex_migrations, renamed when migrations took their domain's name. */
const RENAMED: Record<string, string> = { '001_core': '001_platform', '004_console': '004_compute_consoles' };

async function renameRecorded(knex: Knex) {
  if (!(await knex.schema.hasTable('knex_migrations'))) return;
  for (const [from, to] of Object.entries(RENAMED)) await knex('knex_migrations').where({ name: from }).update({ name: to });
}

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name],
};

export async function migrateLatest(knex: Knex): Promise<string[]> {
  await renameRecorded(knex);
  const [, applied] = (await knex.migrate.latest({ migrationSource: source })) as [number, string[]];
  return applied;
}
