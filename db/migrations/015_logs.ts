import type { Knex } from 'knex';

/**
 * The log center's one store: every process's warnings and errors (written by the logger's PostgreSQL sink) and the
 * audit trail (each audit_log row is copied in by a trigger, whoever inserted it). Every new entry is announced on the
 * channel idcflow_logs (the real-time tail). Full-text search over module, action and message through a generated
 * tsvector and a GIN index; pages are read by keyset on (at, id) with the filters' own indexes.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE log_entries (
      id bigserial PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT now(),
      level varchar(8) NOT NULL,
      source varchar(8) NOT NULL,
      module varchar(64) NOT NULL,
      action varchar(64),
      message text NOT NULL,
      details jsonb NOT NULL DEFAULT '{}',
      stack_trace text,
      request_id varchar(64),
      user_id integer,
      username varchar(64),
      ip_address varchar(64),
      resource_type varchar(64),
      resource_id varchar(128),
      process varchar(128),
      audit_id bigint,
      search tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', module || ' ' || coalesce(action, '') || ' ' || left(message, 4000))
      ) STORED
    )`);
  await knex.raw('CREATE INDEX log_entries_at ON log_entries (at DESC, id DESC)');
  await knex.raw('CREATE INDEX log_entries_level_at ON log_entries (level, at DESC, id DESC)');
  await knex.raw('CREATE INDEX log_entries_module_at ON log_entries (module, at DESC, id DESC)');
  await knex.raw('CREATE INDEX log_entries_module_level_at ON log_entries (module, level, at DESC, id DESC)');
  await knex.raw('CREATE INDEX log_entries_user_at ON log_entries (user_id, at DESC) WHERE user_id IS NOT NULL');
  await knex.raw('CREATE INDEX log_entries_request ON log_entries (request_id) WHERE request_id IS NOT NULL');
  await knex.raw('CREATE INDEX log_entries_search ON log_entries USING gin (search)');

  await knex.raw(`
    CREATE FUNCTION log_entries_from_audit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO log_entries (at, level, source, module, action, message, details, request_id, user_id, username, ip_address, resource_type, resource_id, audit_id)
      VALUES (NEW.at, NEW.level, 'audit', NEW.module, NEW.action, NEW.message, NEW.details, NEW.request_id, NEW.user_id, NEW.username, NEW.ip_address, NEW.resource_type, NEW.resource_id, NEW.id);
      RETURN NULL;
    END $$`);
  await knex.raw('CREATE TRIGGER audit_log_to_log_entries AFTER INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION log_entries_from_audit()');
  // The audit trail written before this migration joins the store too.
  await knex.raw(`
    INSERT INTO log_entries (at, level, source, module, action, message, details, request_id, user_id, username, ip_address, resource_type, resource_id, audit_id)
    SELECT at, level, 'audit', module, action, message, details, request_id, user_id, username, ip_address, resource_type, resource_id, id FROM audit_log ORDER BY id`);

  // NOTIFY payloads are limited to 8000 bytes: the tail gets the entry without its details (GET detail has them).
  await knex.raw(`
    CREATE FUNCTION log_entries_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('idcflow_logs', json_build_object(
        'id', NEW.id, 'at', NEW.at, 'level', NEW.level, 'source', NEW.source, 'module', NEW.module, 'action', NEW.action,
        'message', left(NEW.message, 2000), 'request_id', NEW.request_id, 'user_id', NEW.user_id, 'username', NEW.username,
        'ip_address', NEW.ip_address, 'process', NEW.process)::text);
      RETURN NULL;
    END $$`);
  await knex.raw('CREATE TRIGGER log_entries_notify AFTER INSERT ON log_entries FOR EACH ROW EXECUTE FUNCTION log_entries_notify()');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS audit_log_to_log_entries ON audit_log');
  await knex.raw('DROP TABLE IF EXISTS log_entries');
  await knex.raw('DROP FUNCTION IF EXISTS log_entries_notify()');
  await knex.raw('DROP FUNCTION IF EXISTS log_entries_from_audit()');
}
