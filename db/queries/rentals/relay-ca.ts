import type { Knex } from 'knex';
import { seal, unseal } from '../../../shared/platform/crypto';
import { createRelayCa, type PemPair } from '../../../shared/rentals/relay-tls';

const NAME = 'rentals.relay_ca';

/** idcflow's relay CA (certificate and key), made on first use; two first uses at once keep the one stored first. */
export async function relayCa(knex: Knex, masterKey: Buffer): Promise<PemPair> {
  const read = async () => {
    const row = await knex('system_secrets').where({ name: NAME }).first('sealed');
    return row ? (JSON.parse(unseal(row.sealed, masterKey)) as PemPair) : null;
  };
  const found = await read();
  if (found) return found;
  const ca = await createRelayCa();
  await knex('system_secrets').insert({ name: NAME, sealed: seal(JSON.stringify(ca), masterKey), updated_at: knex.fn.now() }).onConflict('name').ignore();
  return (await read())!;
}
