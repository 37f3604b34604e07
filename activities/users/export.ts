import type { Knex } from 'knex';

/**
 * What a user's backup holds: one JSON file per kind of data. Each domain that stores something
 * of a user's adds its exporter here, so deleting a user never loses data silently.
 */
export interface UserExporter {
  file: string;
  collect(knex: Knex, userId: number): Promise<unknown>;
}

export const USER_EXPORTERS: UserExporter[] = [
  {
    file: 'user.json',
    collect: (knex, userId) =>
      knex('users').where({ id: userId }).first(
        'id', 'username', 'email', 'full_name', 'role', 'is_active', 'email_verified', 'profile', 'last_login', 'last_ip',
        'login_count', 'created_at', 'updated_at', 'password_changed_at',
      ),
  },
  {
    file: 'api_tokens.json',
    collect: (knex, userId) =>
      knex('api_tokens').where({ user_id: userId }).orderBy('id').select('id', 'name', 'prefix', 'scopes', 'expires_at', 'last_used_at', 'revoked_at', 'created_at'),
  },
  {
    file: 'sessions.json',
    collect: (knex, userId) => knex('sessions').where({ user_id: userId }).orderBy('created_at').select('id', 'ip', 'user_agent', 'created_at', 'expires_at', 'revoked_at'),
  },
  {
    file: 'operations.json',
    collect: (knex, userId) =>
      knex('operations').where({ created_by: userId }).orderBy('created_at')
        .select('id', 'type', 'status', 'resource_type', 'resource_id', 'resource_name', 'params', 'result', 'error', 'created_at', 'finished_at'),
  },
  {
    // Compute: the user's instances (sealed passwords and agent tokens stay out of backups) and their quota.
    file: 'instances.json',
    collect: (knex, userId) =>
      knex('instances as i').join('hosts as h', 'h.id', 'i.host_id').where('i.owner_id', userId).orderBy('i.id')
        .select('i.id', 'i.uuid', 'i.name', 'h.name as host', 'i.os_name', 'i.image', 'i.cpu', 'i.ram_mb', 'i.disk_gb', 'i.nics', 'i.state', 'i.origin', 'i.usage', 'i.created_at', 'i.updated_at', 'i.deleted_at'),
  },
  {
    file: 'compute_quota.json',
    collect: (knex, userId) => knex('user_quotas').where({ user_id: userId }).first('cpu', 'ram_mb', 'disk_gb', 'instances', 'updated_at'),
  },
  {
    // Consoles they opened (tickets are kept only as digests and stay out).
    file: 'console_sessions.json',
    collect: (knex, userId) =>
      knex('console_sessions as c').leftJoin('instances as i', 'i.id', 'c.instance_id').where('c.user_id', userId).orderBy('c.id')
        .select('c.id', 'i.uuid as instance_uuid', 'c.created_at', 'c.opened_at', 'c.closed_at', 'c.close_reason', 'c.remote_addr', 'c.bytes_in', 'c.bytes_out'),
  },
  {
    // User data (seed 004): every record with its version.
    file: 'user_data.json',
    collect: (knex, userId) => knex('user_data').where({ user_id: userId }).orderBy('key').select('key', 'value', 'version', 'created_at', 'updated_at'),
  },
  {
    // OAuth clients they registered (secrets are kept only as digests and stay out) and the consents they gave.
    file: 'oauth.json',
    collect: async (knex, userId) => ({
      clients: await knex('oauth_clients').where({ owner_id: userId }).orderBy('id')
        .select('client_id', 'name', 'description', 'redirect_uris', 'grant_types', 'scopes', 'logo_url', 'is_trusted', 'is_active', 'rate_limit', 'created_at', 'updated_at'),
      consents: await knex('oauth_payloads').where({ kind: 'Grant' }).whereRaw("payload->>'accountId' = ?", [String(userId)])
        .select(knex.raw("payload->>'clientId' as client_id"), knex.raw("payload->'openid'->>'scope' as scope"), 'expires_at'),
    }),
  },
  {
    file: 'audit_log.json',
    collect: (knex, userId) => knex('audit_log').where({ user_id: userId }).orderBy('id').select('at', 'level', 'module', 'action', 'message', 'ip_address', 'resource_type', 'resource_id'),
  },
];
