import type { AppDeps } from '../platform/deps';
import { OperationService } from '../platform/operations/service';
import { EngineReads } from './engine-reads';
import { HostService } from './hosts';
import { InstanceService } from './instances';
import { ClusterService } from './cluster';
import { ImageService } from './images';

/** The compute domain's services, wired once for its native routes and its compat adapters. */
export function computeServices(deps: AppDeps) {
  const operations = new OperationService(deps);
  const engineReads = new EngineReads(deps);
  const hosts = new HostService(deps, operations, engineReads);
  const instances = new InstanceService(deps, operations, hosts, engineReads);
  return { operations, hosts, instances, cluster: new ClusterService(deps), images: new ImageService(deps, operations, hosts, engineReads) };
}
