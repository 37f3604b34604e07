import crypto from 'node:crypto';
import QRCode from 'qrcode';
import type { Knex } from 'knex';
import { generateSecret, generateURI, verify } from 'otplib';
import { AppError, conflict } from '../../../shared/platform/errors';
import { seal, sha256, unseal } from '../../../shared/platform/crypto';
import { audit } from '../audit';
import type { Caller } from '../caller';

const ISSUER = 'idcflow';
const RECOVERY_CODES = 10;
/** One step either side of now: a code typed as it rolls over, or a clock a little off, still works. */
const EPOCH_TOLERANCE = 30;

/** A recovery code: 10 characters of Crockford's base32 (50 bits), shown as xxxxx-xxxxx; compared without case or dash. */
const newRecoveryCode = () => {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  const chars = [...crypto.randomBytes(10)].map((b) => alphabet[b & 31]).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
};
const normalizeRecovery = (code: string) => code.toUpperCase().replace(/[^0-9A-Z]/g, '');

const wrongCode = () => new AppError('INVALID_CREDENTIALS', 'The authentication code is not valid', { two_factor_required: true });

/**
 * TOTP second factor of a user's sign-in: enrollment (secret sealed, shown once), confirmation by a first code,
 * recovery codes (hashed, each usable once), the check at sign-in (a code is accepted once), and disabling.
 */
export class TwoFactorService {
  constructor(private readonly knex: Knex, private readonly masterKey: Buffer) {}

  async status(userId: number) {
    const row = await this.knex('user_two_factor').where({ user_id: userId }).first('enabled_at');
    const [{ left }] = await this.knex('user_recovery_codes').where({ user_id: userId }).whereNull('used_at').count<{ left: string }[]>('* as left');
    return { enabled: Boolean(row?.enabled_at), pending: Boolean(row && !row.enabled_at), recovery_codes_left: row?.enabled_at ? Number(left) : 0 };
  }

  /**
   * A new secret, pending until `confirm`; a pending one is replaced. The secret and its URI are in this answer only.
   * The caller has checked the current password (api/platform/auth/current-password.ts).
   */
  async enroll(caller: Caller, userId: number) {
    const user = await this.knex('users').where({ id: userId }).whereNull('deleted_at').first('id', 'username') as { id: number; username: string } | undefined;
    if (!user) throw new AppError('INVALID_CREDENTIALS', 'The account is gone');
    const existing = await this.knex('user_two_factor').where({ user_id: userId }).first('enabled_at');
    if (existing?.enabled_at) throw conflict('Two-factor authentication is already on; disable it first');
    const secret = generateSecret();
    await this.knex('user_two_factor').insert({ user_id: userId, secret_sealed: seal(secret, this.masterKey), enabled_at: null, last_time_step: null })
      .onConflict('user_id').merge(['secret_sealed', 'enabled_at', 'last_time_step']);
    const otpauthUri = generateURI({ issuer: ISSUER, label: user.username, secret });
    await audit(this.knex, caller, { module: 'auth', action: 'two_factor_enroll', message: `${user.username} started two-factor enrollment`, userId, username: user.username });
    return { secret, otpauth_uri: otpauthUri, qr_code: await QRCode.toDataURL(otpauthUri, { errorCorrectionLevel: 'M' }) };
  }

  /** The first code turns it on and answers the recovery codes, once. */
  async confirm(caller: Caller, userId: number, code: string) {
    const row = await this.knex('user_two_factor').where({ user_id: userId }).first();
    if (!row) throw conflict('There is no two-factor enrollment to confirm; enroll first');
    if (row.enabled_at) throw conflict('Two-factor authentication is already on');
    const step = await this.totpStep(row, code);
    if (step === null) throw new AppError('VALIDATION_ERROR', 'The code does not match the secret', { field: 'code', errors: [{ field: 'code', message: 'does not match' }] });
    const codes = Array.from({ length: RECOVERY_CODES }, newRecoveryCode);
    await this.knex.transaction(async (trx) => {
      const done = await trx('user_two_factor').where({ user_id: userId }).whereNull('enabled_at').update({ enabled_at: trx.fn.now(), last_time_step: step });
      if (!done) throw conflict('Two-factor authentication is already on');
      await trx('user_recovery_codes').where({ user_id: userId }).delete();
      await trx('user_recovery_codes').insert(codes.map((c) => ({ user_id: userId, code_hash: sha256(normalizeRecovery(c)) })));
    });
    await audit(this.knex, caller, { module: 'auth', action: 'two_factor_enable', message: `Two-factor authentication on for user ${userId}`, userId });
    return { enabled: true, recovery_codes: codes };
  }

  /** Needs a current code (or a recovery code); the caller has checked the current password. */
  async disable(caller: Caller, userId: number, code: string) {
    if ((await this.check(userId, code)) !== 'ok') throw wrongCode();
    await this.knex.transaction(async (trx) => {
      await trx('user_recovery_codes').where({ user_id: userId }).delete();
      await trx('user_two_factor').where({ user_id: userId }).delete();
    });
    await audit(this.knex, caller, { module: 'auth', action: 'two_factor_disable', level: 'WARNING', message: `Two-factor authentication off for user ${userId}`, userId });
    return { enabled: false };
  }

  /**
   * The second factor at sign-in: 'none' when the user has none; else 'ok' for a TOTP code not used before or an unused
   * recovery code (spent by this call), 'bad' otherwise.
   */
  async check(userId: number, code: string | undefined): Promise<'none' | 'ok' | 'bad'> {
    const row = await this.knex('user_two_factor').where({ user_id: userId }).whereNotNull('enabled_at').first();
    if (!row) return 'none';
    if (!code) return 'bad';
    if (/^\d{6}$/.test(code)) {
      const step = await this.totpStep(row, code);
      if (step === null) return 'bad';
      const claimed = await this.knex('user_two_factor').where({ user_id: userId })
        .where((w) => w.whereNull('last_time_step').orWhere('last_time_step', '<', step)).update({ last_time_step: step });
      return claimed ? 'ok' : 'bad';
    }
    const spent = await this.knex('user_recovery_codes').where({ user_id: userId, code_hash: sha256(normalizeRecovery(code)) }).whereNull('used_at').update({ used_at: this.knex.fn.now() });
    return spent ? 'ok' : 'bad';
  }

  /** Whether the user must give a second factor to sign in. */
  async required(userId: number): Promise<boolean> {
    return Boolean(await this.knex('user_two_factor').where({ user_id: userId }).whereNotNull('enabled_at').first('user_id'));
  }

  private async totpStep(row: { secret_sealed: string; last_time_step: string | number | null }, code: string): Promise<number | null> {
    if (!/^\d{6}$/.test(code)) return null;
    const secret = unseal(row.secret_sealed, this.masterKey);
    const afterTimeStep = row.last_time_step === null ? undefined : Number(row.last_time_step);
    const result = await verify({ secret, token: code, epochTolerance: EPOCH_TOLERANCE, ...(afterTimeStep !== undefined ? { afterTimeStep } : {}) });
    return result.valid && 'timeStep' in result ? result.timeStep : null;
  }
}

export { wrongCode as twoFactorCodeError };
