import crypto from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { AppError, conflict, notFound, validationError } from '../../shared/platform/errors';
import { searchAttributeKeys } from '../../shared/platform/operations';
import { CODE_REFUSED_MESSAGE, createRentalFromCode, RentalChangeRefused } from '../../db/queries/rentals/changes';
import {
  expiredRentals, findRental, listRentals, liveRentalByUuid, rentalsOfUser, rentalsToRemind, type RentalRow, type RentalView,
} from '../../db/queries/rentals/rentals';
import { historyOfUserRentals } from '../../db/queries/rentals/rental-history';
import { liveHostRow } from '../../db/queries/compute/hosts';
import { liveUserById } from '../../db/queries/users/users';
import { found } from '../../db/queries/platform/found';
import type { AppDeps } from '../platform/deps';
import type { Caller } from '../platform/caller';
import { isAdmin, viewerOf, type Principal } from '../platform/auth/principal';
import { audit } from '../platform/audit';
import { iso } from '../platform/http/schemas';
import { computeBounds } from '../compute/bounds';
import { rentalLifecycleWorkflow } from '../../workflows/rentals/lifecycle';
import { certPin } from '../../shared/rentals/relay-tls';
import { deleteRentalUpdate, extendRentalUpdate, remindRentalSignal } from '../../workflows/rentals/signals';
import { type RentalChange } from '../../shared/rentals/changes';
import type { SerialService } from './serials';

const codeRefused = () => validationError([{ field: 'code', message: CODE_REFUSED_MESSAGE }], CODE_REFUSED_MESSAGE);

/** Rentals: redemption, renewal and deletion reach each rental's lifecycle workflow; reads come from PostgreSQL. */
export class RentalService {
  constructor(private readonly deps: AppDeps, private readonly serials: SerialService) {}

  present(r: RentalView) {
    return {
      id: r.id, uuid: r.uuid, user_id: r.user_id, status: r.status, expires_at: iso(r.expires_at),
      host: r.host_id ? { id: r.host_id, name: r.host_name ?? null } : null, port: r.port, instance_id: r.instance_id,
      workflow_id: r.workflow_id, last_error: r.last_error ?? null, created_at: iso(r.created_at), updated_at: iso(r.updated_at), deleted_at: iso(r.deleted_at),
      tls: r.tls_cert ? { hostname: r.tls_hostname, cert_name: certPin(r.tls_cert) } : null,
    };
  }

  /** A rental its owner (or an admin) may see; anyone else's is the same 404 as a missing one. */
  find(principal: Principal, id: number): Promise<RentalView> {
    return found(findRental(this.deps.knex, viewerOf(principal), id), 'rental', id);
  }

  async list(principal: Principal, o: { user_id?: number; include_deleted?: boolean }) {
    return (await listRentals(this.deps.knex, viewerOf(principal), { userId: o.user_id, includeDeleted: o.include_deleted })).map((r) => this.present(r));
  }

  /** Redeems a code: on `rental_id`, extends that rental (an Update of its workflow); without, creates a rental and starts its workflow. */
  async redeem(caller: Caller, b: { code: string; rental_id?: number; host_id?: number }) {
    const { knex } = this.deps;
    const { principal } = caller;
    const code = await this.serials.usable(b.code);
    if (!code) throw codeRefused();
    if (b.rental_id) {
      const rental = await this.find(principal, b.rental_id);
      const result = await this.change(rental, { changeKey: `code-${code.id}`, userId: principal.userId, codeId: code.id }, `code-${code.id}`);
      await audit(knex, caller, { module: 'rentals', action: 'extend', message: `Rental ${rental.id} extended by ${code.days} days`, resourceType: 'rental', resourceId: rental.id });
      return { rental: this.present(await this.find(principal, rental.id)), days: code.days, created: false, expires_at: result.expiresAt };
    }
    if (principal.userId === null) throw new AppError('VALIDATION_ERROR', 'A system token cannot own a rental', { field: 'code' });
    if (b.host_id) {
      const host = await liveHostRow(knex, b.host_id);
      if (!host?.enabled) throw validationError([{ field: 'host_id', message: 'is not an enabled host' }]);
    }
    const rental = await knex.transaction(async (trx) => {
      const created = await createRentalFromCode(trx, { userId: principal.userId!, codeId: code.id, hostId: b.host_id ?? null }).catch((err) => {
        if (err instanceof RentalChangeRefused) throw codeRefused();
        throw err;
      });
      await this.startLifecycle(created, principal.username);
      return created;
    });
    await audit(knex, caller, { module: 'rentals', action: 'redeem', message: `Rental ${rental.id} created for ${code.days} days`, resourceType: 'rental', resourceId: rental.id });
    return { rental: this.present(await this.find(principal, rental.id)), days: code.days, created: true, expires_at: iso(rental.expires_at) };
  }

  private async startLifecycle(r: RentalRow, owner: string) {
    const { temporal, config } = this.deps;
    // Inside the redemption's transaction: a workflow that cannot start leaves no rental and the code unspent.
    await temporal.workflow.start(rentalLifecycleWorkflow, {
      workflowId: r.workflow_id, taskQueue: config.taskQueue,
      args: [{
        rentalId: r.id, uuid: r.uuid, ownerId: r.user_id, expiresAt: new Date(r.expires_at).toISOString(), hostId: r.host_id ?? null,
        reminderDays: config.rentals.reminderDays, graceSeconds: config.rentals.graceSeconds, continueAsNewAfter: config.rentals.continueAsNewAfter, ...computeBounds(config),
      }],
      staticSummary: `DERP relay rental ${r.id} of ${owner}`,
      typedSearchAttributes: [
        { key: searchAttributeKeys.operationType, value: 'rental.lifecycle' },
        { key: searchAttributeKeys.resourceType, value: 'rental' },
        { key: searchAttributeKeys.resourceId, value: String(r.id) },
        { key: searchAttributeKeys.owner, value: owner },
      ],
    }).catch(() => {
      throw new AppError('SERVICE_UNAVAILABLE', 'The workflow engine is unavailable; the code was not used');
    });
  }

  /** Sends a change to the rental's workflow and waits for it to be written; a refused one answers why. */
  private async change(rental: RentalRow, change: RentalChange, updateId: string) {
    if (rental.deleted_at) throw conflict(`Rental ${rental.id} has been deleted`);
    try {
      return await this.deps.temporal.workflow.getHandle(rental.workflow_id).executeUpdate(extendRentalUpdate, { args: [change], updateId });
    } catch (err) {
      throw this.updateError(rental, err);
    }
  }

  private updateError(rental: RentalRow, err: unknown): AppError {
    if (err instanceof WorkflowNotFoundError) return conflict(`Rental ${rental.id} has ended`);
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause as { type?: string; message?: string; cause?: { type?: string; message?: string } } | undefined;
      const type = cause?.cause?.type ?? cause?.type;
      const message = cause?.cause?.message ?? cause?.message ?? 'The change was refused';
      if (type === 'CODE_REFUSED') return codeRefused();
      if (type === 'BAD_EXPIRY') return validationError([{ field: 'new_expiry_date', message }], message);
      return conflict(message);
    }
    return new AppError('SERVICE_UNAVAILABLE', 'The workflow engine is unavailable');
  }

  /** An admin sets an exact new expiry (seed 000's renew): the timers move; a suspended relay comes back. */
  async renew(caller: Caller, id: number, expiresAt: Date, key?: string) {
    const rental = await this.find(caller.principal, id);
    if (!(expiresAt.getTime() > Date.now())) throw validationError([{ field: 'new_expiry_date', message: 'must lie in the future' }]);
    const changeKey = `renew-${key ?? crypto.randomUUID()}`.slice(0, 200);
    await this.change(rental, { changeKey, userId: caller.principal.userId, expiresAt: expiresAt.toISOString() }, changeKey);
    await audit(this.deps.knex, caller, { module: 'rentals', action: 'renew', message: `Rental ${id} renewed until ${expiresAt.toISOString()}`, resourceType: 'rental', resourceId: id });
    return this.present(await this.find(caller.principal, id));
  }

  /** Ends a rental: its workflow deletes the relay (an instance.delete operation) and frees the port; waits up to the bound. */
  async remove(caller: Caller, id: number): Promise<{ rental: ReturnType<RentalService['present']>; done: boolean }> {
    const { temporal, config, knex } = this.deps;
    const rental = await this.find(caller.principal, id);
    if (rental.deleted_at) throw notFound('rental', id);
    const handle = temporal.workflow.getHandle(rental.workflow_id);
    try {
      await handle.executeUpdate(deleteRentalUpdate, { updateId: `delete-${rental.id}` });
    } catch (err) {
      if (!(err instanceof WorkflowUpdateFailedError)) throw this.updateError(rental, err);
    }
    await audit(knex, caller, { module: 'rentals', action: 'delete', message: `Rental ${id} deleted`, resourceType: 'rental', resourceId: id });
    let done = false;
    if (!caller.respondAsync) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), config.operationWaitSeconds * 1000);
      try {
        await temporal.withAbortSignal(controller.signal, () => handle.result());
        done = true;
      } catch {
        done = false;
      } finally {
        clearTimeout(timer);
      }
    }
    return { rental: this.present(await this.find(caller.principal, id)), done };
  }

  /** derper's --verify-client-url: a client may use the relay while its rental is active and unexpired. */
  async admits(uuid: string): Promise<boolean> {
    const r = await liveRentalByUuid(this.deps.knex, uuid);
    return Boolean(r && r.status === 'active' && new Date(r.expires_at) > new Date());
  }

  async expired() {
    const rows = await expiredRentals(this.deps.knex, new Date());
    return rows.map((r) => ({ rental_id: r.id, user_id: r.user_id, expiry_date: iso(r.expires_at)!.slice(0, 10), expires_at: iso(r.expires_at), status: r.status }));
  }

  /** Asks the user's rental workflows (those expiring that day, if given) to send their reminder now: the outbox keeps it to one per expiry. */
  async notify(caller: Caller, userId: number, day?: string) {
    const rows = await rentalsToRemind(this.deps.knex, userId, day);
    for (const r of rows) await this.deps.temporal.workflow.getHandle(r.workflow_id).signal(remindRentalSignal).catch(() => undefined);
    await audit(this.deps.knex, caller, { module: 'rentals', action: 'notify', message: `Expiry notifications for user ${userId}: ${rows.length} rentals`, resourceType: 'user', resourceId: userId });
    return { user_id: userId, notified: rows.map((r) => r.id) };
  }

  async history(principal: Principal, userId: number) {
    if (!isAdmin(principal) && principal.userId !== userId) throw notFound('user', userId);
    await found(liveUserById(this.deps.knex, userId), 'user', userId);
    const rentals = await rentalsOfUser(this.deps.knex, userId);
    const events = await historyOfUserRentals(this.deps.knex, userId);
    return {
      user_id: userId,
      history: rentals.map((r) => ({
        rental_id: r.id, status: r.status, start_date: iso(r.created_at)!.slice(0, 10), end_date: iso(r.deleted_at ?? r.expires_at)!.slice(0, 10), expires_at: iso(r.expires_at),
        events: events.filter((e) => e.rental_id === r.id).map((e) => ({ action: e.action, days: e.days, old_expiry: iso(e.old_expiry), new_expiry: iso(e.new_expiry), at: iso(e.at) })),
      })),
    };
  }

  /** Seed 000's rental_info: the user's current rental (the one expiring last), and all of them. */
  async info(principal: Principal) {
    const rentals = await this.list(principal, {});
    const mine = rentals.filter((r) => r.user_id === principal.userId);
    const current = [...mine].sort((a, b) => (b.expires_at ?? '').localeCompare(a.expires_at ?? ''))[0];
    return {
      user_id: principal.userId, rental_status: current?.status ?? 'none', rental_expiry: current?.expires_at?.slice(0, 10) ?? null,
      rental_expires_at: current?.expires_at ?? null, rentals: mine,
    };
  }
}
