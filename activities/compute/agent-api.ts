import { agentSigner, signAgentRequest, type AgentSigner } from '../../shared/compute/agent-request';
import type { StoredLogLine } from '../../shared/platform/logger';
import { VERSION } from '../../shared/platform/version';

/** What a host agent holds of itself (docs/agents.md): the files of IDCFLOW_AGENT_DIR, read by agent-identity.ts. */
export interface AgentIdentity {
  hostId: number;
  hostName: string;
  /** The API as this host reaches it (the address it joined through). */
  apiUrl: string;
  /** The agent's private key (PKCS#8 PEM): made on this host, never sent anywhere. */
  key: string;
  cert: string;
  ca: string;
  temporal: { address: string; namespace: string; taskQueue: string };
}

/** An answer of the API other than success: its HTTP status, the envelope's code and message. */
export class AgentApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details: Record<string, unknown> = {}) {
    super(message);
  }

  /** The identity itself was refused (revoked, unknown, another CA): retrying will not help; the host must join again. */
  get identityRefused(): boolean { return this.status === 401; }

  /** The platform refuses this agent's version. */
  get outdated(): boolean { return this.details.reason === 'agent_outdated'; }
}

/** The answer's data, or an AgentApiError with the envelope's code and message. */
export async function answerOf<T>(res: Response): Promise<T> {
  const text = await res.text();
  let body: { success?: boolean; data?: T; error?: { code?: string; message?: string; details?: Record<string, unknown> } } | null = null;
  try { body = text ? JSON.parse(text) : null; } catch { /* not JSON: a proxy's page */ }
  if (res.ok && body?.success) return body.data as T;
  throw new AgentApiError(res.status, body?.error?.code ?? `HTTP_${res.status}`, body?.error?.message ?? `HTTP ${res.status}: ${text.slice(0, 200)}`, body?.error?.details ?? {});
}

export interface WireguardTarget { server_id: number; interface: string }
export interface BgpTarget { session_id: number; protocol: string }
export interface NetservicesReport {
  wireguard: Array<{ server_id: number; peers: Array<{ public_key: string; latest_handshake: string | null; transfer_rx: number; transfer_tx: number; endpoint: string | null }> }>;
  bgp: Array<{
    session_id: number; status: string; info: string | null; last_error: string | null; state_since: string | null;
    routes_received: number | null; routes_advertised: number | null;
  }>;
}

/**
 * The agent's side of the API's /agent endpoints: every request signed with the host's own key (a fresh signature each
 * time, bound to its method, path and body), for the host's own reports only.
 */
export class AgentApi {
  private constructor(readonly identity: AgentIdentity, private readonly signer: AgentSigner, private readonly version: string) {}

  static async create(identity: AgentIdentity, version = VERSION): Promise<AgentApi> {
    return new AgentApi(identity, await agentSigner(identity), version);
  }

  private get base() { return `/api/v1/agent/hosts/${encodeURIComponent(this.identity.hostName)}`; }

  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 15_000): Promise<T> {
    const text = body === undefined ? '' : JSON.stringify(body);
    const authorization = await signAgentRequest(this.signer, { method, path, body: text }, this.version);
    const res = await fetch(this.identity.apiUrl + path, {
      method, body: body === undefined ? undefined : text, signal: AbortSignal.timeout(timeoutMs),
      headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    });
    return answerOf<T>(res);
  }

  heartbeat(status: Record<string, unknown>) {
    return this.request<{ host: string; online: boolean }>('POST', `${this.base}/heartbeat`, { status });
  }

  /** Stopping on purpose: the host is offline at once (bounded: a platform away must not hold the agent's shutdown). */
  goodbye() {
    return this.request<{ host: string; online: boolean }>('POST', `${this.base}/heartbeat`, { stopping: true }, 2000);
  }

  sample(values: Record<string, number>, at = new Date()) {
    return this.request<{ host: string; timestamp: string; values: number }>('POST', `${this.base}/metrics`, { timestamp: at.toISOString(), values });
  }

  logs(lines: StoredLogLine[]) {
    return this.request<{ stored: number }>('POST', `${this.base}/logs`, { lines });
  }

  netservicesTargets() {
    return this.request<{ wireguard: WireguardTarget[]; bgp: BgpTarget[] }>('GET', `${this.base}/netservices`);
  }

  netservicesReport(report: NetservicesReport) {
    return this.request<{ wireguard: number; bgp: number; wireguard_drift: number[] }>('POST', `${this.base}/netservices`, report);
  }
}
