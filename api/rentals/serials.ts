import crypto from 'node:crypto';
import { AppError, forbidden } from '../../shared/platform/errors';
import { sha256 } from '../../shared/platform/crypto';
import { CODE_BYTES, formatCode, normalizeCode } from '../../shared/rentals/codes';
import type { AppDeps } from '../platform/deps';
import type { Caller } from '../platform/caller';
import { isAdmin, type Principal } from '../platform/auth/principal';
import { audit } from '../platform/audit';
import { iso } from '../platform/http/schemas';
import { countGeneratedCodes, lockDistributorAllowance } from '../../db/queries/rentals/distributors';
import { insertSerialBatch, listSerialBatches, type SerialBatchView } from '../../db/queries/rentals/serial-batches';
import { insertSerialCodes, serialCodeByHash } from '../../db/queries/rentals/serial-codes';

export const codeHash = (code: string) => sha256(normalizeCode(code));

/** Serial-code batches: admins without limit, approved distributors within their tier's allowance. Codes are shown once. */
export class SerialService {
  constructor(private readonly deps: AppDeps) {}

  async generate(caller: Caller, b: { days: number; count: number; value_cents?: number; note?: string }) {
    const { knex } = this.deps;
    const { principal } = caller;
    const codes = Array.from({ length: b.count }, () => formatCode(crypto.randomBytes(CODE_BYTES)));
    const batch = await knex.transaction(async (trx) => {
      let distributorId: number | null = null;
      if (!isAdmin(principal)) {
        const d = await lockDistributorAllowance(trx, principal.userId ?? -1);
        if (!d || d.status !== 'approved') throw forbidden('Only admins and approved distributors generate serial codes');
        if (d.codes_generated + b.count > d.code_allowance) {
          throw new AppError('CONFLICT', `This batch would exceed your tier's allowance (${d.codes_generated} of ${d.code_allowance} codes used)`, { allowance: d.code_allowance, used: d.codes_generated });
        }
        await countGeneratedCodes(trx, principal.userId!, b.count);
        distributorId = principal.userId;
      }
      const row = await insertSerialBatch(trx, { created_by: principal.userId, distributor_id: distributorId, days: b.days, count: b.count, value_cents: b.value_cents ?? 0, note: b.note ?? null });
      await insertSerialCodes(trx, codes.map((c) => ({ batch_id: row.id, code_hash: codeHash(c), hint: normalizeCode(c).slice(-4), days: b.days })));
      return row;
    });
    await audit(knex, caller, { module: 'rentals', action: 'serial_batch', message: `Batch ${batch.id}: ${b.count} codes of ${b.days} days`, resourceType: 'serial_batch', resourceId: batch.id });
    return { batch: this.present({ ...batch, used: 0 }), codes };
  }

  present(b: SerialBatchView) {
    return { id: b.id, days: b.days, count: b.count, used: Number(b.used ?? 0), value_cents: b.value_cents, note: b.note, distributor_id: b.distributor_id, created_by: b.created_by, created_at: iso(b.created_at) };
  }

  async list(principal: Principal) {
    const batches = await listSerialBatches(this.deps.knex, { distributorId: isAdmin(principal) ? undefined : principal.userId ?? -1 }, 200);
    return { batches: batches.map((b) => this.present(b)) };
  }

  /** The unused code with this text, or null. The lookup is by SHA-256 (no prefix of the code is ever compared), then checked in constant time. */
  async usable(code: string): Promise<{ id: number; days: number } | null> {
    const hash = codeHash(code);
    const row = await serialCodeByHash(this.deps.knex, hash);
    if (!row || !crypto.timingSafeEqual(Buffer.from(row.code_hash), Buffer.from(hash)) || row.used_at) return null;
    return { id: row.id, days: row.days };
  }
}
