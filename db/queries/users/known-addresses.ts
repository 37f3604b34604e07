import type { Knex } from 'knex';

/** A client address a user signed in from successfully (lockout without denial: failures elsewhere do not lock it). */
export interface KnownAddressRow {
  user_id: number;
  address: string;
  first_seen_at: Date;
  last_seen_at: Date;
}

/** How many addresses a user keeps (the most recently used), and for how long one stays known without a sign-in. */
export const KNOWN_ADDRESSES_KEPT = 20;
export const KNOWN_ADDRESS_DAYS = 90;

const table = (db: Knex | Knex.Transaction) => db<KnownAddressRow>('user_known_addresses');

/** Whether `userId` signed in successfully from `address` within the last KNOWN_ADDRESS_DAYS. */
export async function isKnownAddress(db: Knex, userId: number, address: string | null): Promise<boolean> {
  if (!address) return false;
  const row = await table(db).where({ user_id: userId, address })
    .where('last_seen_at', '>', db.raw(`now() - interval '${KNOWN_ADDRESS_DAYS} days'`)).first('user_id');
  return Boolean(row);
}

/** Records a successful sign-in from `address`; only the KNOWN_ADDRESSES_KEPT most recent addresses stay. */
export async function rememberAddress(db: Knex, userId: number, address: string | null): Promise<void> {
  if (!address) return;
  await table(db).insert({ user_id: userId, address: address.slice(0, 64) })
    .onConflict(['user_id', 'address']).merge({ last_seen_at: db.fn.now() as unknown as Date });
  await table(db).where({ user_id: userId })
    .whereNotIn('address', table(db).where({ user_id: userId }).orderBy('last_seen_at', 'desc').limit(KNOWN_ADDRESSES_KEPT).select('address'))
    .delete();
}

export async function knownAddresses(db: Knex, userId: number): Promise<KnownAddressRow[]> {
  return table(db).where({ user_id: userId }).orderBy('last_seen_at', 'desc');
}
