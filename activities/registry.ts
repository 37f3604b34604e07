import type { ActivityDeps } from './platform/deps';

type ActivityFactory = (deps: ActivityDeps) => object;

/**
 * Merges the domains' activities into one worker registration. Temporal knows an activity by its name alone, so a
 * name registered twice would silently replace the other: that fails at start-up instead, naming both domains.
 */
export function registerActivities<D extends Record<string, ActivityFactory[]>>(domains: D, deps: ActivityDeps): UnionOf<D> {
  const registered: Record<string, unknown> = {};
  const owner = new Map<string, string>();
  for (const [domain, factories] of Object.entries(domains)) {
    for (const factory of factories) {
      for (const [name, fn] of Object.entries(factory(deps))) {
        const first = owner.get(name);
        if (first) throw new Error(`Activity "${name}" is registered by both the ${first} and the ${domain} domain; activity names must be unique`);
        owner.set(name, domain);
        registered[name] = fn;
      }
    }
  }
  return registered as UnionOf<D>;
}

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type UnionOf<D extends Record<string, ActivityFactory[]>> = UnionToIntersection<ReturnType<D[keyof D][number]>>;
