import type { Knex } from 'knex';
import type { Client } from '@temporalio/client';
import type { Config } from '../../shared/platform/config';
import type { Logger } from '../../shared/platform/logger';
import type { SystemSecrets } from './system-secrets';
import type { Notifications } from '../../db/notifications';
import type { LiveSettings } from '../../activities/system/live-settings';
import type { LogStoreSink } from '../../shared/platform/logger';

/** What the API process holds: configuration, the database (and its LISTEN connection), the Temporal client, the logger. */
export interface AppDeps {
  config: Config;
  knex: Knex;
  temporal: Client;
  logger: Logger;
  secrets: SystemSecrets;
  notifications: Notifications;
  /** The system settings as this process applies them (kept live over `notifications`), and its cluster node id once registered. */
  system: { settings: LiveSettings; nodeId: string | null };
  /** Where the logger's warnings and errors wait for the log center; flushed when the API closes. */
  logStore?: LogStoreSink;
}
