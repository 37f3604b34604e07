import type { Knex } from 'knex';
import type { Config } from '../../shared/platform/config';
import type { Logger } from '../../shared/platform/logger';

/** What activities may touch: the database, configuration (data dir, SMTP), the logger. */
export interface ActivityDeps {
  knex: Knex;
  config: Config;
  logger: Logger;
}
