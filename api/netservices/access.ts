import { MANAGERS } from '../../shared/platform/permissions';
import type { Viewer } from '../../db/queries/platform/scope';
import { inRole, type Principal } from '../platform/auth/principal';

/** Servers, sessions, announcements and pools are run by admins and managers (routes declare `roles: MANAGERS`); users see their own clients and allocations. */
export const isNetworkManager = (p: Principal) => inRole(p, MANAGERS);

/** Whose WireGuard clients and IPv6 allocations a caller sees: their own; admins' and managers' (who run the servers and pools): all. */
export const netViewer = (p: Principal): Viewer => ({ userId: p.userId, admin: isNetworkManager(p) });

/**
 * Who may attach to a server or allocate from a pool: admins and managers to any; a customer only to one its operator
 * opened to customers (`open_to_customers`). To anyone else the server or pool does not exist (404).
 */
export const mayUse = (p: Principal, resource: { open_to_customers: boolean }) => isNetworkManager(p) || resource.open_to_customers;
