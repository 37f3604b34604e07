import type { Domain } from '../platform/domain';
import type { AppDeps } from '../platform/deps';
import { OperationService } from '../platform/operations/service';
import { EngineReads } from '../compute/engine-reads';
import { availabilityRoutes } from './routes';
import { haRoutes } from './ha-routes';
import { HealthService } from './health';
import { HaService } from './ha';
import { derpRentalHaRoutes } from './compat-derp-rental';

function haServices(deps: AppDeps) {
  const operations = new OperationService(deps);
  return { operations, health: new HealthService(deps), ha: new HaService(deps, operations, new EngineReads(deps)) };
}

export const availabilityDomain: Domain = {
  name: 'availability',
  native: (deps) => {
    const s = haServices(deps);
    return [...availabilityRoutes(deps), ...haRoutes(deps, s.operations, s.health, s.ha)];
  },
  compat: (deps) => {
    const s = haServices(deps);
    return derpRentalHaRoutes(s.operations, s.health, s.ha);
  },
};
