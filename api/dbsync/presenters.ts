import {   iso } from '../platform/http/schemas';

import { type Row } from './schemas';


export const presentCredential = (c: Row, usage = 0) => ({
  id: c.id, name: c.name, credential_type: c.credential_type, db_type: c.db_type ?? null, username: c.username,
  password: '********', has_password: true, description: c.description ?? null, is_active: c.is_active, instance_count: usage,
  created_at: iso(c.created_at), updated_at: iso(c.updated_at),
});

export const presentInstance = (i: Row) => ({
  id: i.id, name: i.name, db_type: i.db_type, host: i.host, port: i.port, database_name: i.database_name ?? null,
  credential_id: i.credential_id ?? null, credential_name: i.credential_name ?? null, description: i.description ?? null,
  environment: i.environment, tags: i.tags ?? [], ssl: i.options?.ssl ?? 'prefer', is_active: i.is_active, status: i.status,
  last_connected: iso(i.last_connected), last_error: i.last_error ?? null, server_version: i.server_version ?? null, last_sync_at: iso(i.last_sync_at),
  account_count: i.account_count !== undefined ? Number(i.account_count) : undefined,
  created_at: iso(i.created_at), updated_at: iso(i.updated_at),
});

export const presentSession = (s: Row) => ({
  id: s.id, session_id: s.id, sync_type: s.sync_type, sync_category: s.sync_category, status: s.status,
  total_instances: s.total_instances, successful_instances: s.successful_instances, failed_instances: s.failed_instances,
  cancelled_instances: s.cancelled_instances, created_by: s.created_by ?? null, job_id: s.job_id ?? null, operation_id: s.operation_id ?? null,
  filters: s.filters ?? {}, error: s.error ?? null, started_at: iso(s.started_at), completed_at: iso(s.completed_at),
});

export const presentRecord = (r: Row) => ({
  id: r.id, session_id: r.session_id, instance_id: r.instance_id, instance_name: r.instance_name, db_type: r.db_type, status: r.status,
  items_synced: r.items_synced, items_created: r.items_created, items_updated: r.items_updated, items_deleted: r.items_deleted,
  error_message: r.error_message ?? null, details: r.details ?? {}, started_at: iso(r.started_at), completed_at: iso(r.completed_at),
});

export const presentAccount = (a: Row) => ({
  id: a.id, instance_id: a.instance_id, instance_name: a.instance_name ?? undefined, db_type: a.db_type, account_key: a.account_key,
  username: a.username, host: a.host ?? null, is_superuser: a.is_superuser, is_locked: a.is_locked, can_login: a.can_login,
  capabilities: a.capabilities, roles: a.roles, privileges: a.privileges, attributes: a.attributes, is_active: a.is_active,
  classifications: a.classifications ?? undefined,
  first_seen_at: iso(a.first_seen_at), last_seen_at: iso(a.last_seen_at), last_change_at: iso(a.last_change_at), deactivated_at: iso(a.deactivated_at),
});

export const presentChange = (c: Row) => ({
  id: Number(c.id), instance_id: c.instance_id, account_id: c.account_id ?? null, account_key: c.account_key, change_type: c.change_type,
  diff: c.diff, session_id: c.session_id ?? null, message: c.message ?? null, changed_at: iso(c.changed_at),
});

export const presentClassification = (c: Row) => ({
  id: c.id, code: c.code, name: c.name, description: c.description ?? null, risk_level: c.risk_level, priority: c.priority,
  color: c.color ?? null, is_system: c.is_system, is_active: c.is_active, rule_count: c.rule_count !== undefined ? Number(c.rule_count) : undefined,
  account_count: c.account_count !== undefined ? Number(c.account_count) : undefined, created_at: iso(c.created_at), updated_at: iso(c.updated_at),
});

export const presentRule = (r: Row) => ({
  id: r.id, classification_id: r.classification_id, name: r.name, db_type: r.db_type ?? null, expression: r.expression,
  version: r.version, is_active: r.is_active, created_at: iso(r.created_at), updated_at: iso(r.updated_at),
});

export const presentBatch = (b: Row) => ({
  id: b.id, batch_id: b.id, batch_type: b.batch_type, status: b.status, total_accounts: b.total_accounts, matched_accounts: b.matched_accounts,
  total_matches: b.total_matches, rule_versions: b.rule_versions ?? {}, filters: b.filters ?? {}, created_by: b.created_by ?? null,
  job_id: b.job_id ?? null, operation_id: b.operation_id ?? null, error: b.error ?? null, started_at: iso(b.started_at), completed_at: iso(b.completed_at),
});

export const presentMatch = (m: Row) => ({
  id: Number(m.id), batch_id: m.batch_id, account_id: m.account_id, account_key: m.account_key, username: m.username, instance_id: m.instance_id,
  instance_name: m.instance_name, db_type: m.db_type, classification_id: m.classification_id, classification_code: m.code,
  classification_name: m.classification_name, risk_level: m.risk_level, rule_id: m.rule_id, rule_version: m.rule_version, matched_at: iso(m.matched_at),
});

export const presentJob = (j: Row, live?: { next_run_at: string | null; last_run_at: string | null; paused: boolean; note?: string | null; recent_runs?: number }) => ({
  id: j.id, job_id: j.id, name: j.name, task_type: j.task_type, db_type: j.db_type ?? null, instance_ids: j.instance_ids ?? null,
  schedule: j.schedule, timezone: j.timezone, calendars: j.calendars, description: j.description ?? null,
  is_enabled: j.is_enabled, is_paused: j.is_paused, state: !j.is_enabled ? 'disabled' : j.is_paused ? 'paused' : 'active',
  schedule_id: j.id, next_run_at: live?.next_run_at ?? null, last_run_at: live?.last_run_at ?? null, temporal_paused: live?.paused ?? null,
  created_by: j.created_by ?? null, created_at: iso(j.created_at), updated_at: iso(j.updated_at),
});

