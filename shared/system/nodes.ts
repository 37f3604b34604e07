/** A cluster node's kind: idcflow's own processes heartbeat; external nodes are probed at their health URL. */
export const NODE_KINDS = ['api', 'worker', 'agent', 'external'] as const;
export type NodeKind = (typeof NODE_KINDS)[number];
export type NodeHealth = 'healthy' | 'unhealthy' | 'stopped' | 'unknown';

export interface NodeState {
  kind: string;
  status: string;
  last_heartbeat: Date | string | null;
  last_check: { ok: boolean } | null;
}

/**
 * A node's health, computed when read: a process that said it stopped is `stopped`; one whose last heartbeat is older
 * than `staleSeconds` is `unhealthy` (it crashed, hangs or lost the database); an external node is what its last
 * probe found (`unknown` before the first).
 */
export function nodeHealth(node: NodeState, now: number, staleSeconds: number): NodeHealth {
  if (node.kind === 'external') return node.last_check ? (node.last_check.ok ? 'healthy' : 'unhealthy') : 'unknown';
  if (node.status === 'stopped') return 'stopped';
  if (!node.last_heartbeat) return 'unhealthy';
  return now - new Date(node.last_heartbeat).getTime() > staleSeconds * 1000 ? 'unhealthy' : 'healthy';
}

/** Only http and https health URLs are probed, without credentials in them. */
export function healthUrlProblem(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL';
  if (url.username || url.password) return 'must not carry credentials';
  return null;
}
