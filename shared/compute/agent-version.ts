/**
 * The oldest host agent this platform works with: raised when the agent's API or activities change in a way an older
 * agent cannot follow. Platforms are upgraded first, then their agents (docs/agents.md).
 */
export const MIN_AGENT_VERSION = '0.1.0';

const parts = (v: string) => v.split(/[.+-]/).slice(0, 3).map((n) => Number.parseInt(n, 10) || 0);

/** Negative when `a` is older than `b`, 0 when equal, positive when newer (major.minor.patch; anything after is ignored). */
export function compareVersions(a: string, b: string): number {
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/** Why an agent of `version` is refused by a platform whose oldest accepted agent is `minVersion`; null when it is not. */
export function agentVersionProblem(version: string | null | undefined, minVersion: string, platformVersion: string): string | null {
  if (version && compareVersions(version, minVersion) >= 0) return null;
  return `Agent version ${version || '(none)'} is older than ${minVersion}, the oldest this platform (version ${platformVersion}) accepts: upgrade the agent`;
}
