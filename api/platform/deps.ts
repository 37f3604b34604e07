import type { Knex } from 'knex';
import type { Client } from '@temporalio/client';
import type { Config } from '../../shared/platform/config';
import type { Logger } from '../../shared/platform/logger';
import type { SystemSecrets } from './system-secrets';

/** What the API process holds: configuration, the database, the Temporal client, the logger. */
export interface AppDeps {
  config: Config;
  knex: Knex;
  temporal: Client;
  logger: Logger;
  secrets: SystemSecrets;
}
