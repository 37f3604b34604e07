import { forbidden } from '../../shared/platform/errors';
import { isAdmin, type Principal } from '../platform/auth/principal';

/** Servers, sessions, announcements and pools are run by admins and managers; users see their own clients and allocations. */
export const isNetworkManager = (p: Principal) => isAdmin(p) || p.role === 'manager';

export function requireNetworkManager(p: Principal): void {
  if (!isNetworkManager(p)) throw forbidden('Network servers, sessions and pools are managed by admins and managers');
}
