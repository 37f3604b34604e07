import type { AppDeps } from '../platform/deps';
import type { Caller } from '../platform/caller';
import { audit } from '../platform/audit';

/** What every dbsync service holds: the database, and the audit trail under module `dbsync`. */
export abstract class DbsyncBase {
  constructor(protected readonly deps: AppDeps) {}

  protected get knex() { return this.deps.knex; }

  protected audit(caller: Caller, action: string, message: string, resourceType: string, resourceId: string | number, details: Record<string, unknown> = {}) {
    return audit(this.knex, caller, { module: 'dbsync', action, message, resourceType, resourceId, details });
  }
}
