import { Connection, Client } from '@temporalio/client';
import { NativeConnection, Worker, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import type { Knex } from 'knex';
import type { Config } from '../shared/platform/config';
import { temporalConnectionOptions } from '../shared/platform/temporal-connection';
import { createLogger, LogStoreSink, type Logger } from '../shared/platform/logger';
import { attachLogStore } from '../db/queries/logs/store';
import { createKnex } from '../db/knex';
import { Notifications } from '../db/notifications';
import { createActivities } from '../activities';
import { SystemSecrets } from '../api/platform/system-secrets';
import type { AppDeps } from '../api/platform/deps';
import { faultDelayInterceptor } from '../activities/platform/fault-injection';
import { LiveSettings } from '../activities/system/live-settings';

let runtimeInstalled = false;
function installRuntime(logger: Logger) {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: {
      log: (level, message, meta) => logger[level === 'TRACE' ? 'trace' : (level.toLowerCase() as 'info')]({ ...meta }, message),
      trace: (m, meta) => logger.trace(meta ?? {}, m), debug: (m, meta) => logger.debug(meta ?? {}, m),
      info: (m, meta) => logger.info(meta ?? {}, m), warn: (m, meta) => logger.warn(meta ?? {}, m), error: (m, meta) => logger.error(meta ?? {}, m),
    },
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  });
}

/** The main worker: all workflows and the activities that do not need to run on a particular host. */
export async function createMainWorker(config: Config, knex: Knex, logger: Logger, opts: { handleSignals?: boolean } = {}): Promise<{ worker: Worker; connection: NativeConnection }> {
  installRuntime(logger);
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  const worker = await Worker.create({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities({ knex, config, logger }),
    ...(opts.handleSignals === false ? { shutdownSignals: [] } : {}),
    interceptors: { activity: Object.keys(config.faultDelays).length ? [faultDelayInterceptor(config.faultDelays)] : [] },
  });
  return { worker, connection };
}

/** What the API needs; the Temporal connection is lazy so the API starts (and reports) while Temporal is away. */
export function createApiDeps(config: Config): AppDeps {
  const connection = Connection.lazy(temporalConnectionOptions(config));
  return apiDepsOn(config, createKnex(config.databaseUrl), new Client({ connection, namespace: config.temporalNamespace }));
}

/** The API's dependencies around a database pool and a Temporal client made elsewhere. */
export function apiDepsOn(config: Config, knex: Knex, temporal: Client): AppDeps {
  const logStore = new LogStoreSink();
  const logger = createLogger(config.logLevel, 'idcflow-api', { store: logStore });
  attachLogStore(logStore, knex);
  const notifications = new Notifications(config.databaseUrl, logger);
  const system = { settings: new LiveSettings(knex, config, [logger]), nodeId: null };
  return { config, knex, temporal, logger, secrets: new SystemSecrets(knex, config.masterKey), notifications, system, logStore };
}
