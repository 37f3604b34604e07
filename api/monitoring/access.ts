import { OPERATORS } from '../../shared/platform/permissions';
import { inRole, type Principal } from '../platform/auth/principal';

/** Monitoring is the operators' view: admins, managers and viewers read it (the live channels ask here; routes declare `roles`). */
export const isOperator = (p: Principal) => inRole(p, OPERATORS);
