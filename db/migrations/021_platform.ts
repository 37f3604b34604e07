import type { Knex } from 'knex';
import { CREDENTIALS_CHANNEL } from '../../shared/platform/credential-changes';

// Every API replica caches session and API token checks (api/platform/auth/cache.ts); these triggers announce each
// change that could end or narrow one, whichever code path (API, workflow, compat surface, psql) made it.
const CREDENTIAL_TRIGGERS: Array<{ table: string; kind: string; columns: string[] }> = [
  { table: 'users', kind: 'user', columns: ['is_active', 'deleted_at', 'role', 'username', 'password_hash'] },
  { table: 'sessions', kind: 'session', columns: ['revoked_at', 'user_id'] },
  { table: 'api_tokens', kind: 'token', columns: ['revoked_at', 'scopes', 'expires_at', 'user_id', 'token_hash'] },
];

export async function up(knex: Knex): Promise<void> {
  for (const { table, kind, columns } of CREDENTIAL_TRIGGERS) {
    const changed = columns.map((c) => `old.${c} is distinct from new.${c}`).join(' or ');
    await knex.raw(`
      create or replace function idcflow_credentials_${table}() returns trigger language plpgsql as $$
      begin
        if tg_op = 'DELETE' or ${changed} then
          perform pg_notify('${CREDENTIALS_CHANNEL}', json_build_object('kind', '${kind}', 'id', old.id)::text);
        end if;
        return null;
      end $$`);
    await knex.raw(`create trigger idcflow_credentials after update or delete on ${table} for each row execute function idcflow_credentials_${table}()`);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const { table } of CREDENTIAL_TRIGGERS) {
    await knex.raw(`drop trigger if exists idcflow_credentials on ${table}`);
    await knex.raw(`drop function if exists idcflow_credentials_${table}()`);
  }
}
