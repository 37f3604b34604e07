import type { AppDeps } from '../platform/deps';
import { OperationService } from '../platform/operations/service';
import { EngineReads } from './engine-reads';
import { HostService } from './hosts';
import { InstanceService } from './instances';
import { ClusterService } from './cluster';
import { ImageService } from './images';

const wired = new WeakMap<AppDeps, ReturnType<typeof wire>>();

/** The compute domain's services, wired once per process (per deps) for its native routes, its compat adapters and networking. */
export function computeServices(deps: AppDeps) {
  let services = wired.get(deps);
  if (!services) wired.set(deps, (services = wire(deps)));
  return services;
}

function wire(deps: AppDeps) {
  const operations = new OperationService(deps);
  const engineReads = new EngineReads(deps);
  const hosts = new HostService(deps, operations, engineReads);
  const instances = new InstanceService(deps, operations, hosts, engineReads);
  return { operations, hosts, instances, cluster: new ClusterService(deps), images: new ImageService(deps, operations, hosts, engineReads) };
}
