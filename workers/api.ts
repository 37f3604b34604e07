import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig, type Config } from '../shared/platform/config';
import { createApp } from '../api/app';
import { createApiDeps } from './runtime';
import type { AppDeps } from '../api/platform/deps';
import { joinCluster } from '../activities/system/node-presence';
import { HealthService } from '../api/availability/health';
import { startOperationSweeper } from '../api/platform/operations/sweep';
import { publishingSettled } from '../api/platform/operations/settle';
import client from 'prom-client';
import { attachLiveChannels } from '../api/monitoring/live';
import { startPlatformSampler } from '../api/monitoring/platform-sampler';

/** Waits for `work` at most `ms` (its failure is logged by its own code, or ignored at shutdown). */
const within = (ms: number, work: Promise<unknown> | undefined) =>
  Promise.race([(work ?? Promise.resolve()).catch(() => undefined), new Promise((resolve) => setTimeout(resolve, ms).unref())]);

/** Starts the HTTP API. Given `deps`, the caller keeps them (and closes them); otherwise they are made and closed here. */
export async function startApi(config: Config, given?: AppDeps): Promise<{ server: Server; deps: AppDeps; live: Awaited<ReturnType<typeof attachLiveChannels>>; close(): Promise<void> }> {
  const deps = given ?? createApiDeps(config);
  await deps.system.settings.start(deps.notifications);
  const metricsRegistry = new client.Registry();
  const server = createApp(deps, metricsRegistry).listen(config.port, config.host);
  // Idle keep-alive connections outlive a client's or a load balancer's own idle timeout (often 60 s): with Node's 5 s,
  // a client reusing a connection as the server closes it gets ECONNRESET.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const port = (server.address() as AddressInfo).port;
  const node = await joinCluster(deps.knex, config, deps.logger, { kind: 'api', discriminator: port, port, capabilities: ['api', 'compat'], applied: () => ({ log_level: deps.logger.level }) });
  deps.system.nodeId = node.id;
  // Host health is checked on a Temporal Schedule; a process that owns its dependencies makes sure it exists.
  if (!given) void new HealthService(deps).ensureSchedule();
  const sweeper = config.operationSweepSeconds > 0 ? startOperationSweeper(deps.knex, deps.temporal, deps.logger, config.operationSweepSeconds, publishingSettled(deps)) : null;
  // The live channels (WebSockets) share the API's port; the process samples its own figures into the metrics store.
  const live = await attachLiveChannels(server, deps);
  const sampler = startPlatformSampler(deps, metricsRegistry);
  return {
    server,
    deps,
    live,
    close: async () => {
      sampler.stop();
      await live.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      // A stuck database (an exhausted pool, PostgreSQL away) must not hold the shutdown: each step gets a few seconds.
      await within(5_000, node.stop());
      deps.system.settings.stop();
      await within(5_000, sweeper?.stop());
      await deps.notifications.close();
      await within(5_000, deps.logStore?.close());
      if (given) return;
      await deps.temporal.connection.close();
      await deps.knex.destroy();
    },
  };
}

/** `npm run api`: the HTTP API against external PostgreSQL and Temporal. */
if (require.main === module) {
  const config = loadConfig();
  if (!config.databaseUrl || !config.temporalAddress) {
    console.error('npm run api needs DATABASE_URL and TEMPORAL_ADDRESS (npm start runs everything embedded)');
    process.exit(1);
  }
  startApi(config).then((api) => {
    api.deps.logger.info({ port: config.port, host: config.host }, 'idcflow API listening');
    const stop = () => { void api.close().then(() => process.exit(0)); };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
