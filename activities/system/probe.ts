import type { ActivityDeps } from '../platform/deps';
import { healthUrlProblem } from '../../shared/system/nodes';

export interface ProbeResult {
  ok: boolean;
  status_code: number | null;
  response_time_ms: number;
  error: string | null;
  checked_at: string;
}

/** One GET of a health URL, bounded by `timeoutMs`, redirects not followed: healthy on a 2xx answer. */
export async function probeHealthUrl(url: string, timeoutMs: number): Promise<ProbeResult> {
  const started = Date.now();
  const done = (ok: boolean, status: number | null, error: string | null): ProbeResult =>
    ({ ok, status_code: status, response_time_ms: Date.now() - started, error, checked_at: new Date().toISOString() });
  const problem = healthUrlProblem(url);
  if (problem) return done(false, null, `the health URL ${problem}`);
  try {
    const res = await fetch(url, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json, */*' } });
    await res.body?.cancel().catch(() => undefined);
    return done(res.status >= 200 && res.status < 300, res.status, res.status >= 200 && res.status < 300 ? null : `answered HTTP ${res.status}`);
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
    return done(false, null, timedOut ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message));
  }
}

/** The system domain's activities: the health probe of a cluster node (the API never calls out itself). */
export function createSystemActivities(_deps: ActivityDeps) {
  return {
    async systemProbeHealthUrl({ url, timeoutMs }: { url: string; timeoutMs: number }): Promise<ProbeResult> {
      return probeHealthUrl(url, timeoutMs);
    },
  };
}

export type SystemActivities = ReturnType<typeof createSystemActivities>;
