import type { AppDeps } from '../platform/deps';
import { OperationService } from '../platform/operations/service';
import { CatalogService } from './catalog';
import { SyncService } from './sync';
import { ClassificationService } from './classification';
import { JobService } from './jobs';

/** The dbsync domain's services, wired once for its native routes and the WhaleFall adapter. */
export function dbsyncServices(deps: AppDeps) {
  const operations = new OperationService(deps);
  const catalog = new CatalogService(deps);
  return { operations, catalog, sync: new SyncService(deps, operations, catalog), classification: new ClassificationService(deps, operations), jobs: new JobService(deps) };
}
