import { loadConfig } from '../shared/platform/config';
import { createLogger, LogStoreSink } from '../shared/platform/logger';
import { attachLogStore } from '../db/queries/logs/store';
import { createKnex } from '../db/knex';
import { startAgent } from './agent-runtime';
import { startConsoleGateway } from './console-gateway';

/** `npm run agent`: the host agent for IDCFLOW_AGENT_HOST (task queue host:<name>), with a console gateway when IDCFLOW_CONSOLE_PORT is set. SIGINT/SIGTERM stop it cleanly. */
async function main() {
  const config = loadConfig();
  if (!config.databaseUrl || !config.temporalAddress) throw new Error('npm run agent needs DATABASE_URL and TEMPORAL_ADDRESS');
  if (!config.compute.agentHost) throw new Error('npm run agent needs IDCFLOW_AGENT_HOST (the name of the host this agent runs on)');
  const logStore = new LogStoreSink();
  const logger = createLogger(config.logLevel, 'idcflow-agent', { store: logStore });
  const knex = createKnex(config.databaseUrl, 3);
  attachLogStore(logStore, knex);
  const agent = await startAgent(config, knex, logger, config.compute.agentHost, { handleSignals: false });
  const gateway = config.console.port ? await startConsoleGateway(config, knex, logger, { mainQueue: false, agentHosts: [config.compute.agentHost] }) : null;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await gateway?.close();
    await agent.stop();
    await logStore.close();
    await knex.destroy();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  agent.running.catch((err) => { logger.error({ err }, 'agent worker stopped'); void stop(); });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
