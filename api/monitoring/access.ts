import { forbidden } from '../../shared/platform/errors';
import { isAdmin, type Principal } from '../platform/auth/principal';

/** Monitoring is the operators' view: admins, managers and viewers read it; admins and managers change alert rules. */
export const isOperator = (p: Principal) => isAdmin(p) || p.role === 'manager' || p.role === 'viewer';
export const isMonitoringManager = (p: Principal) => isAdmin(p) || p.role === 'manager';

export function requireOperator(p: Principal): void {
  if (!isOperator(p)) throw forbidden('Monitoring is shown to admins, managers and viewers');
}

export function requireMonitoringManager(p: Principal): void {
  if (!isMonitoringManager(p)) throw forbidden('Alert rules are managed by admins and managers');
}
