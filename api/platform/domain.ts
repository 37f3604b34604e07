import type { AnyRoute } from './http/route';
import type { AppDeps } from './deps';

/** A domain's routes: native ones under /api/v1, and its compat adapters at the seeds' own paths. */
export interface Domain {
  name: string;
  native: (deps: AppDeps) => AnyRoute[];
  compat: (deps: AppDeps) => AnyRoute[];
}
