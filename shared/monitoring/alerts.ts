export const CONDITIONS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type Condition = (typeof CONDITIONS)[number];
export const LEVELS = ['info', 'warning', 'error', 'critical'] as const;
export type Level = (typeof LEVELS)[number];

export function conditionHolds(value: number, condition: Condition, threshold: number): boolean {
  switch (condition) {
    case '>': return value > threshold;
    case '>=': return value >= threshold;
    case '<': return value < threshold;
    case '<=': return value <= threshold;
    case '==': return value === threshold;
    case '!=': return value !== threshold;
  }
}

/** Seed 003's alert ids (`cpu_high_20240101_000000`), plus the source, so two hosts firing in one second differ. */
export function alertId(ruleId: string, at: Date, source: string): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
  return `${ruleId}_${stamp}_${source.replace(/[^A-Za-z0-9._-]+/g, '-')}`.slice(0, 300);
}

/** Whether a rule that fired at `lastFiredAt` may fire again at `now`. */
export function cooledDown(lastFiredAt: Date | null, cooldownMinutes: number, now: Date): boolean {
  return !lastFiredAt || now.getTime() - lastFiredAt.getTime() >= cooldownMinutes * 60_000;
}
