import fs from 'node:fs';
import type { Knex } from 'knex';
import { seal, unseal } from '../../../shared/platform/crypto';
import { createAgentCa, type PemPair } from '../../../shared/compute/agent-ca';
import type { Config } from '../../../shared/platform/config';

const CA_SECRET = 'compute.agent_ca';

/**
 * idcflow's agent CA: from the files IDCFLOW_AGENT_CA_CERT / IDCFLOW_AGENT_CA_KEY when given (a CA the deploy script
 * made, which Temporal's frontend trusts too), else made on first use and kept sealed with the master key in
 * system_secrets, where every API replica finds the same one; two first uses at once keep the one stored first.
 */
export async function agentCa(knex: Knex, config: Pick<Config, 'compute' | 'masterKey'>): Promise<PemPair> {
  const files = config.compute.agentIdentity.caFiles;
  if (files) return { cert: fs.readFileSync(files.cert, 'utf8'), key: fs.readFileSync(files.key, 'utf8') };
  const read = async () => {
    const row = await knex('system_secrets').where({ name: CA_SECRET }).first('sealed');
    return row ? (JSON.parse(unseal(row.sealed, config.masterKey)) as PemPair) : null;
  };
  const found = await read();
  if (found) return found;
  const ca = await createAgentCa();
  await knex('system_secrets').insert({ name: CA_SECRET, sealed: seal(JSON.stringify(ca), config.masterKey), updated_at: knex.fn.now() }).onConflict('name').ignore();
  return (await read())!;
}

export interface JoinTokenRow { id: number; host_id: number; expires_at: Date; used_at: Date | null; host_name: string }

export async function insertJoinToken(knex: Knex, row: { hostId: number; tokenHash: string; createdBy: number | null; expiresAt: Date }): Promise<{ id: number; expires_at: Date }> {
  const [created] = await knex('host_join_tokens')
    .insert({ host_id: row.hostId, token_hash: row.tokenHash, created_by: row.createdBy, expires_at: row.expiresAt }).returning(['id', 'expires_at']);
  return created;
}

/** A join token by its hash, with its (live) host's name; undefined when unknown or its host is gone. */
export async function joinTokenByHash(knex: Knex, tokenHash: string): Promise<JoinTokenRow | undefined> {
  return knex('host_join_tokens as t').join('hosts as h', 'h.id', 't.host_id').whereNull('h.deleted_at').where('t.token_hash', tokenHash)
    .first('t.id', 't.host_id', 't.expires_at', 't.used_at', 'h.name as host_name');
}

/** Issued certificates of a host stop working: it joined again, was fenced or deleted. */
export async function revokeAgentCerts(knex: Knex | Knex.Transaction, hostId: number, reason: 'rejoined' | 'fenced' | 'host deleted'): Promise<number> {
  return knex('host_agent_certs').where({ host_id: hostId }).whereNull('revoked_at').update({ revoked_at: knex.fn.now(), revoked_reason: reason });
}

/**
 * Uses a join token up and records the certificate issued with it, in one transaction; the host's earlier certificates
 * are revoked (joining again rotates). The token row is locked, so the same token used twice at once issues once.
 */
export async function enrollWithToken(
  knex: Knex, tokenId: number,
  issue: (token: JoinTokenRow) => Promise<{ certificate: string; fingerprint: string; serial: string; notAfter: Date; agentVersion: string }>,
): Promise<{ token: JoinTokenRow; certificate: string } | 'used' | 'expired' | 'gone'> {
  return knex.transaction(async (trx) => {
    const token = await trx('host_join_tokens as t').join('hosts as h', 'h.id', 't.host_id').where('t.id', tokenId)
      .forUpdate('t').first('t.id', 't.host_id', 't.expires_at', 't.used_at', 'h.name as host_name', 'h.deleted_at') as (JoinTokenRow & { deleted_at: Date | null }) | undefined;
    if (!token || token.deleted_at) return 'gone' as const;
    if (token.used_at) return 'used' as const;
    if (new Date(token.expires_at).getTime() <= Date.now()) return 'expired' as const;
    const cert = await issue(token);
    await trx('host_join_tokens').where({ id: tokenId }).update({ used_at: trx.fn.now() });
    await revokeAgentCerts(trx, token.host_id, 'rejoined');
    await trx('host_agent_certs').insert({
      host_id: token.host_id, fingerprint: cert.fingerprint, serial: cert.serial, certificate: cert.certificate, not_after: cert.notAfter, agent_version: cert.agentVersion,
    });
    await trx('hosts').where({ id: token.host_id }).update({ agent_version: cert.agentVersion, updated_at: trx.fn.now() });
    return { token, certificate: cert.certificate };
  });
}

export interface AgentCertRow { host_id: number; host_name: string; revoked_at: Date | null; revoked_reason: string | null }

/** An issued certificate by its fingerprint, with its host (undefined when never issued here, or its host is deleted). */
export async function agentCertByFingerprint(knex: Knex, fingerprint: string): Promise<AgentCertRow | undefined> {
  return knex('host_agent_certs as c').join('hosts as h', 'h.id', 'c.host_id').whereNull('h.deleted_at').where('c.fingerprint', fingerprint)
    .first('c.host_id', 'h.name as host_name', 'c.revoked_at', 'c.revoked_reason');
}

/**
 * Records a signed request's id until it expires: false when it was seen already (a replay). Ids past their expiry are
 * swept now and then by the caller (sweepRequestIds).
 */
export async function firstUseOfRequestId(knex: Knex, jti: string, expiresAt: Date): Promise<boolean> {
  const rows = await knex('agent_request_ids').insert({ jti, expires_at: expiresAt }).onConflict('jti').ignore().returning('jti');
  return rows.length === 1;
}

export async function sweepRequestIds(knex: Knex): Promise<number> {
  return knex('agent_request_ids').where('expires_at', '<', knex.fn.now()).delete();
}
