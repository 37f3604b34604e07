import type { Knex } from 'knex';
import type { Config } from '../../shared/platform/config';
import type { Logger } from '../../shared/platform/logger';
import { Notifications } from '../../db/notifications';
import { LiveSettings } from './live-settings';
import { joinCluster, type NodeSpec } from './node-presence';

/**
 * What a worker or agent process adds for the system domain: its own LISTEN connection, the live settings (its
 * logger follows log_level) and its cluster node with the heartbeat. The API does the same through its AppDeps.
 */
export async function startProcessRuntime(knex: Knex, config: Config, logger: Logger, spec: NodeSpec) {
  const notifications = new Notifications(config.databaseUrl, logger);
  const settings = new LiveSettings(knex, config, [logger]);
  await settings.start(notifications);
  const node = await joinCluster(knex, config, logger, { ...spec, applied: () => ({ log_level: logger.level }) });
  return {
    settings,
    node,
    async stop() {
      await node.stop();
      settings.stop();
      await notifications.close();
    },
  };
}
