import type { AppDeps } from '../platform/deps';
import { AccountService } from './accounts';
import { AclService } from './acl';
import { DistributorService } from './distributors';
import { RentalService } from './rentals';
import { SerialService } from './serials';

/** The rentals domain's services, wired once for its native routes and its seed 000 adapter. */
export function rentalServices(deps: AppDeps) {
  const serials = new SerialService(deps);
  return { accounts: new AccountService(deps), serials, rentals: new RentalService(deps, serials), acl: new AclService(deps), distributors: new DistributorService(deps) };
}
