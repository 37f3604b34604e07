import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from '../platform/deps';
import { createMailActivities } from '../platform/mail';
import type { InstanceRequest } from '../../shared/compute/contracts';
import { applyRentalChange, RentalChangeRefused } from '../../db/queries/rentals/changes';
import { publicAddressesOf } from '../../shared/rentals/acl';
import { derperCertName, issueRelayCertificate } from '../../shared/rentals/relay-tls';
import { seal } from '../../shared/platform/crypto';
import { relayCa } from '../../db/queries/rentals/relay-ca';
import type { RentalChange, RentalChangeResult } from '../../shared/rentals/changes';

/** The port derper listens on inside its container; the host port published to it is the rental's own. */
export const DERP_CONTAINER_PORT = 3340;
/** Where a relay's certificate and key are written in its container. */
const DERP_CERT_DIR = '/var/lib/derper/certs';
const DEFAULT_PORT_RANGE = { start: 30000, end: 39999 };

const refused = (err: unknown) => {
  if (err instanceof RentalChangeRefused) throw ApplicationFailure.nonRetryable(err.message, err.code);
  throw err;
};

export function createRentalActivities(deps: ActivityDeps) {
  const { knex, config } = deps;
  const mail = createMailActivities(deps);

  /**
   * The relay's TLS: a certificate from idcflow's relay CA for the host's relay name (`options.derp_hostname`, else its
   * first public IPv4, else IPv6, else its address) and its public addresses, issued once per name and kept on the
   * rental (key sealed); derper reads it from its -certdir (`-certmode manual`). An IP-address name spares clients SNI.
   */
  async function relayTls(rentalId: number, hostId: number) {
    const host = await knex('hosts').where({ id: hostId }).first('public_addresses', 'options', 'address');
    const { ipv4, ipv6 } = publicAddressesOf((host.public_addresses ?? []) as string[]);
    const hostname = String(host.options?.derp_hostname ?? ipv4 ?? ipv6 ?? host.address);
    let row = await knex('rentals').where({ id: rentalId }).first('tls_hostname', 'tls_cert', 'tls_key_sealed');
    if (row.tls_hostname !== hostname || !row.tls_cert) {
      const issued = await issueRelayCertificate(await relayCa(knex, config.masterKey), [...new Set([hostname, ...[ipv4, ipv6].filter((a): a is string => Boolean(a))])]);
      await knex('rentals').where({ id: rentalId }).update({ tls_hostname: hostname, tls_cert: issued.cert, tls_key_sealed: seal(issued.key, config.masterKey), updated_at: knex.fn.now() });
      row = await knex('rentals').where({ id: rentalId }).first('tls_hostname', 'tls_cert', 'tls_key_sealed');
    }
    const name = derperCertName(hostname);
    return {
      flags: ['-certmode', 'manual', '-certdir', DERP_CERT_DIR, '-hostname', hostname],
      files: [
        { path: `${DERP_CERT_DIR}/${name}.crt`, content: row.tls_cert as string, mode: 0o644 },
        { path: `${DERP_CERT_DIR}/${name}.key`, contentSealed: row.tls_key_sealed as string, mode: 0o600 },
      ],
    };
  }

  return {
    /**
     * Takes a free port in the host's range (nat_port_start..end) for the rental and says what instance to create.
     * Repeatable: a rental that already holds a port on this host keeps it.
     */
    async rentalsPrepareRelay({ rentalId, hostId }: { rentalId: number; hostId: number }): Promise<{ port: number; request: InstanceRequest }> {
      const port = await knex.transaction(async (trx) => {
        const rental = await trx('rentals').where({ id: rentalId }).forUpdate().first();
        if (!rental || rental.deleted_at) throw ApplicationFailure.nonRetryable(`Rental ${rentalId} has been deleted`, 'RENTAL_GONE');
        if (rental.port && rental.host_id === hostId) return rental.port as number;
        await trx.raw('SELECT pg_advisory_xact_lock(7401, ?)', [hostId]);
        const host = await trx('hosts').where({ id: hostId }).first('nat_port_start', 'nat_port_end', 'name');
        const start = host.nat_port_start ?? DEFAULT_PORT_RANGE.start, end = host.nat_port_end ?? DEFAULT_PORT_RANGE.end;
        const used = new Set((await trx('rentals').where({ host_id: hostId }).whereNull('deleted_at').whereNotNull('port').pluck('port')).map(Number));
        let free: number | null = null;
        for (let p = start; p <= end && free === null; p++) if (!used.has(p)) free = p;
        if (free === null) throw ApplicationFailure.nonRetryable(`Host ${host.name} has no free relay port left in ${start}-${end}`, 'CONFLICT', { reason: 'ports_exhausted' });
        await trx('rentals').where({ id: rentalId }).update({ host_id: hostId, port: free, updated_at: trx.fn.now() });
        return free;
      });
      const rental = await knex('rentals').where({ id: rentalId }).first('uuid');
      const verify = config.rentals.derpVerifyUrl ? ['-verify-client-url', `${config.rentals.derpVerifyUrl}/api/v1/rentals/${rental.uuid}/admit`] : [];
      const tls = config.rentals.derpTls ? await relayTls(rentalId, hostId) : null;
      const request: InstanceRequest = {
        uuid: `derp-${rentalId}-${String(rental.uuid).slice(0, 8)}`, name: `derp-relay-${rentalId}`, hostId, engineType: null, ownerId: null,
        osName: 'derper', image: config.rentals.derpImage,
        command: ['/derper', '-a', `:${DERP_CONTAINER_PORT}`, '-http-port', '-1', '-stun=false', '-c', '/var/lib/derper/derper.key', ...verify, ...(tls?.flags ?? [])],
        cpu: 1, ramMb: 128, diskGb: 1, nics: [], ports: [{ host: port, container: DERP_CONTAINER_PORT, protocol: 'tcp' }],
        ...(tls ? { files: tls.files } : {}),
      };
      return { port, request };
    },

    async rentalsRecordRelay({ rentalId, instanceId }: { rentalId: number; instanceId: number }): Promise<void> {
      await knex('rentals').where({ id: rentalId }).update({ instance_id: instanceId, status: 'active', last_error: null, updated_at: knex.fn.now() });
    },

    async rentalsSetStatus({ rentalId, status, action, error }: { rentalId: number; status: string; action?: string; error?: { code: string; message: string } }): Promise<void> {
      await knex('rentals').where({ id: rentalId }).whereNull('deleted_at').update({ status, ...(error ? { last_error: JSON.stringify(error) } : {}), updated_at: knex.fn.now() });
      if (action) {
        const rental = await knex('rentals').where({ id: rentalId }).first('expires_at');
        await knex('rental_history').insert({ rental_id: rentalId, action, new_expiry: rental.expires_at, change_key: `${action}-${rentalId}-${new Date(rental.expires_at).toISOString()}` })
          .onConflict('change_key').ignore();
      }
    },

    async rentalsApplyChange(c: RentalChange & { rentalId: number }): Promise<RentalChangeResult> {
      return applyRentalChange(knex, c).catch(refused);
    },

    /** The rental is over: its row is kept for history, its port free again (the unique index covers live rentals only). */
    async rentalsReleaseRelay({ rentalId }: { rentalId: number }): Promise<void> {
      await knex('rentals').where({ id: rentalId }).whereNull('deleted_at').update({ status: knex.raw("CASE WHEN status = 'failed' THEN 'failed' ELSE 'deleted' END"), deleted_at: knex.fn.now(), updated_at: knex.fn.now() });
      await knex('rental_history').insert({ rental_id: rentalId, action: 'delete', change_key: `delete-${rentalId}` }).onConflict('change_key').ignore();
    },

    /** The reminder for one expiry, through the outbox: at most one mail per rental and expiry, whatever retries or replays. */
    async rentalsReminderMail({ rentalId, expiresAt }: { rentalId: number; expiresAt: string }): Promise<{ sent: boolean; reason?: string }> {
      const row = await knex('rentals as r').join('users as u', 'u.id', 'r.user_id').where('r.id', rentalId).first('u.email', 'u.username', 'r.port', 'r.uuid');
      if (!row?.email) return { sent: false, reason: 'the user has no email address' };
      const day = expiresAt.slice(0, 10);
      return mail.sendMail({
        key: `rental-${rentalId}-reminder-${expiresAt}`, to: row.email, subject: `Your DERP relay rental ${rentalId} expires on ${day}`,
        text: `Hello ${row.username},\n\nyour DERP relay rental ${rentalId} (port ${row.port ?? '-'}) expires at ${expiresAt}. Redeem a serial code for it to extend it; `
          + `after the expiry the relay stops, and ${Math.round(config.rentals.graceSeconds / 86400)} days later it is deleted.\n`,
      });
    },
  };
}

export type RentalActivities = ReturnType<typeof createRentalActivities>;
