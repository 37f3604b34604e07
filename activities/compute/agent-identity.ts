import fs from 'node:fs';
import path from 'node:path';
import { createAgentKey } from '../../shared/compute/agent-ca';
import { VERSION } from '../../shared/platform/version';
import { answerOf, type AgentIdentity } from './agent-api';

/** The files of an agent's identity directory (IDCFLOW_AGENT_DIR), each readable by the agent's user only. */
const FILES = { key: 'agent.key', cert: 'agent.crt', ca: 'ca.crt', about: 'identity.json' } as const;

interface EnrollAnswer {
  host: { id: number; name: string };
  certificate: string;
  ca_certificate: string;
  temporal: { address: string; namespace: string; task_queue: string };
}

/** Writes a file readable by its owner only, whole or not at all (a crash mid-write leaves the previous one). */
function writePrivate(dir: string, name: string, text: string) {
  const file = path.join(dir, name);
  fs.writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
  fs.chmodSync(`${file}.tmp`, 0o600);
  fs.renameSync(`${file}.tmp`, file);
}

/**
 * Joins the platform at `apiUrl` with a one-time join token: makes a key pair here, sends only a certificate request,
 * and keeps what comes back in `dir` (0700, files 0600). The identity there is replaced only once the platform said yes.
 */
export async function enrollAgent(apiUrl: string, token: string, dir: string, version = VERSION): Promise<AgentIdentity> {
  const base = apiUrl.replace(/\/+$/, '');
  const { key, csr } = await createAgentKey();
  const res = await fetch(`${base}/api/v1/agent/enroll`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, csr, agent_version: version }), signal: AbortSignal.timeout(30_000),
  });
  const answer = await answerOf<EnrollAnswer>(res);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  writePrivate(dir, FILES.key, key);
  writePrivate(dir, FILES.cert, answer.certificate);
  writePrivate(dir, FILES.ca, answer.ca_certificate);
  const about = { host_id: answer.host.id, host_name: answer.host.name, api_url: base, temporal: answer.temporal, enrolled_at: new Date().toISOString() };
  writePrivate(dir, FILES.about, `${JSON.stringify(about, null, 2)}\n`);
  return loadAgentIdentity(dir)!;
}

/** The identity kept in `dir`, or null when this host has not joined yet. */
export function loadAgentIdentity(dir: string): AgentIdentity | null {
  const file = (name: string) => path.join(dir, name);
  if (!fs.existsSync(file(FILES.about))) return null;
  const about = JSON.parse(fs.readFileSync(file(FILES.about), 'utf8')) as { host_id: number; host_name: string; api_url: string; temporal: EnrollAnswer['temporal'] };
  return {
    hostId: about.host_id, hostName: about.host_name, apiUrl: about.api_url,
    key: fs.readFileSync(file(FILES.key), 'utf8'), cert: fs.readFileSync(file(FILES.cert), 'utf8'), ca: fs.readFileSync(file(FILES.ca), 'utf8'),
    temporal: { address: about.temporal.address, namespace: about.temporal.namespace, taskQueue: about.temporal.task_queue },
  };
}
