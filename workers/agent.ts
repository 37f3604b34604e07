import { loadConfig } from '../shared/platform/config';
import { createLogger, LogStoreSink, type StoredLogLine } from '../shared/platform/logger';
import { createKnex } from '../db/knex';
import { AgentApi, AgentApiError, type AgentIdentity } from '../activities/compute/agent-api';
import { enrollAgent, loadAgentIdentity } from '../activities/compute/agent-identity';
import { startAgent } from './agent-runtime';
import { startConsoleGateway } from './console-gateway';

const USAGE = 'npm run agent -- --join <api-url> <join-token>   (once; afterwards `npm run agent` uses the identity kept in IDCFLOW_AGENT_DIR)';

/** The identity this agent runs with: a new one from a join token (`--join <url> <token>`), else the one kept on this host. */
async function identityFrom(argv: string[], dir: string): Promise<AgentIdentity> {
  const at = argv.indexOf('--join');
  if (at >= 0) {
    const [url, token] = argv.slice(at + 1, at + 3);
    if (!url || !token || !/^https?:\/\//.test(url)) throw new Error(`Usage: ${USAGE}`);
    const identity = await enrollAgent(url, token, dir);
    console.log(`Joined as host ${identity.hostName}; identity kept in ${dir}`);
    return identity;
  }
  const kept = loadAgentIdentity(dir);
  if (!kept) throw new Error(`This host has not joined yet (no identity in ${dir}). An admin runs \`idcflow hosts join <host>\`, then here: ${USAGE}`);
  return kept;
}

/**
 * `npm run agent`: the host agent of the host its identity names (task queue host:<name>), with a console gateway when
 * IDCFLOW_CONSOLE_PORT is set. It reports through the API with its own identity; DATABASE_URL (and the master key) are
 * still needed for its activities, until the next part of issue 23 (docs/agents.md). SIGINT/SIGTERM stop it cleanly.
 */
async function main() {
  const config = loadConfig(process.env, { agent: true });
  const identity = await identityFrom(process.argv.slice(2), config.compute.agentIdentity.dir);
  if (config.compute.agentHost && config.compute.agentHost !== identity.hostName) {
    throw new Error(`IDCFLOW_AGENT_HOST is ${config.compute.agentHost} but this agent's identity is host ${identity.hostName}: unset it, or join as that host`);
  }
  const api = await AgentApi.create(identity);
  // The agent's warnings and errors reach the log center through its identity; a batch the API cannot take is dropped, not retried forever.
  const logStore = new LogStoreSink({ batchSize: 100 });
  logStore.attach((lines: StoredLogLine[]) => api.logs(lines).then(() => undefined, (err) => {
    if (err instanceof AgentApiError && (err.status === 413 || err.status === 422)) process.stderr.write(`log center: dropped ${lines.length} log lines it refused (${err.message})\n`);
    else throw err;
  }));
  const logger = createLogger(config.logLevel, 'idcflow-agent', { store: logStore });
  const knex = config.databaseUrl ? createKnex(config.databaseUrl, 3) : null;
  const agent = await startAgent(config, identity, logger, { knex, handleSignals: false });
  const gateway = config.console.port && knex ? await startConsoleGateway(config, knex, logger, { mainQueue: false, agentHosts: [identity.hostName] }) : null;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await gateway?.close();
    await agent.stop();
    await logStore.close();
    await knex?.destroy();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  agent.running.catch((err) => { logger.error({ err }, 'agent worker stopped'); void stop(); });
}

main().catch((err) => {
  console.error(err instanceof AgentApiError ? `${err.code}: ${err.message}` : err);
  process.exit(1);
});
