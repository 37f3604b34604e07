import type { Knex } from 'knex';
import type { Config } from '../../shared/platform/config';
import type { Logger } from '../../shared/platform/logger';
import type { AgentApi } from '../compute/agent-api';

/** What activities may touch: the database, configuration (data dir, SMTP), the logger; on a host agent, its own API client. */
export interface ActivityDeps {
  knex: Knex;
  config: Config;
  logger: Logger;
  /** A host agent's signed client of the API's /agent endpoints, for what the host reports (set on agents only). */
  agentApi?: AgentApi;
}
