import type { Knex } from 'knex';
import { CREDENTIALS_CHANNEL } from '../../shared/platform/credential-changes';

// Every API replica caches session and API token checks (api/platform/auth/cache.ts); these triggers announce each
// change that could end or narrow one, whichever code path (API, workflow, compat surface, psql) made it.
// A user's whole row is cached with the check (GET /auth/me answers from it), so any change to it is announced.
const CREDENTIAL_TRIGGERS: Array<{ table: string; kind: string; columns: string[] | 'row' }> = [
  { table: 'users', kind: 'user', columns: 'row' },
  { table: 'sessions', kind: 'session', columns: ['revoked_at', 'user_id'] },
  { table: 'api_tokens', kind: 'token', columns: ['revoked_at', 'scopes', 'expires_at', 'user_id', 'token_hash'] },
];

// The list endpoints' filters with their order (a page is the first rows of one index range, whatever the table's size).
const LIST_INDEXES: Array<[name: string, definition: string]> = [
  ['instances_owner_live', 'instances (owner_id, id) where deleted_at is null'],
  ['instances_host_live', 'instances (host_id, id) where deleted_at is null'],
  ['instances_state_live', 'instances (state, id) where deleted_at is null'],
  ['operations_created', 'operations (created_at desc, id)'],
  ['operations_type_created', 'operations (type, created_at desc, id)'],
  ['operations_status_created', 'operations (status, created_at desc, id)'],
  ['operations_resource_created', 'operations (resource_type, resource_id, created_at desc, id)'],
  ['operations_created_by_created', 'operations (created_by, created_at desc, id)'],
  ['audit_log_at_id', 'audit_log (at, id)'],
];

export async function up(knex: Knex): Promise<void> {
  for (const [name, definition] of LIST_INDEXES) await knex.raw(`create index if not exists ${name} on ${definition}`);
  await knex.raw('drop index if exists audit_log_at_index'); // (at, id) serves the same ranges
  await knex.raw('drop index if exists operations_created_by_created_at_index');
  for (const { table, kind, columns } of CREDENTIAL_TRIGGERS) {
    const changed = columns === 'row' ? 'old is distinct from new' : columns.map((c) => `old.${c} is distinct from new.${c}`).join(' or ');
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
  await knex.raw('create index if not exists audit_log_at_index on audit_log (at)');
  await knex.raw('create index if not exists operations_created_by_created_at_index on operations (created_by, created_at)');
  for (const [name] of LIST_INDEXES) await knex.raw(`drop index if exists ${name}`);
  for (const { table } of CREDENTIAL_TRIGGERS) {
    await knex.raw(`drop trigger if exists idcflow_credentials on ${table}`);
    await knex.raw(`drop function if exists idcflow_credentials_${table}()`);
  }
}
