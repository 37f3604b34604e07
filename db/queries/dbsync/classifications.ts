import type { Knex } from 'knex';
import type { Viewer } from '../platform/scope';

/**
 * Classifications and their rules. The system defaults (no owner) are everyone's to read and an admin's to change;
 * any other row is its creator's (admins see all). A rule applies only to accounts of its owner's instances
 * (system rules to every account).
 */
export interface ClassificationRow {
  id: number;
  code: string;
  name: string;
  description: string | null;
  risk_level: string;
  priority: number;
  color: string | null;
  is_system: boolean;
  is_active: boolean;
  created_by: number | null;
  created_at: Date;
  updated_at: Date;
}

export interface RuleRow {
  id: number;
  classification_id: number;
  name: string;
  db_type: string | null;
  expression: unknown;
  version: number;
  is_active: boolean;
  created_by: number | null;
  created_at: Date;
  updated_at: Date;
}

/** Rows `viewer` may read: shared ones (no owner) and their own; an admin every one. */
function readable<T extends Knex.QueryBuilder>(q: T, viewer: Viewer, column: string): T {
  if (viewer.admin) return q;
  return q.where((w) => w.whereNull(column).orWhere(column, viewer.userId ?? -1)) as T;
}

/** Whether `viewer` may change a row it can read: its own, or (an admin) any. */
export const writable = (viewer: Viewer, row: { created_by: number | null }) => viewer.admin || (row.created_by !== null && row.created_by === viewer.userId);

export const visibleClassifications = (knex: Knex | Knex.Transaction, viewer: Viewer) =>
  readable(knex('account_classifications as c'), viewer, 'c.created_by');

export async function findClassification(knex: Knex | Knex.Transaction, viewer: Viewer, id: number): Promise<ClassificationRow | undefined> {
  return visibleClassifications(knex, viewer).where('c.id', id).first<ClassificationRow | undefined>('c.*');
}

/** Rules (alias `r`) `viewer` may read: of a classification they may read, and shared or their own. */
export const visibleRules = (knex: Knex | Knex.Transaction, viewer: Viewer) =>
  readable(readable(knex('classification_rules as r').join('account_classifications as c', 'c.id', 'r.classification_id'), viewer, 'c.created_by'), viewer, 'r.created_by');

export async function findRule(knex: Knex | Knex.Transaction, viewer: Viewer, id: number): Promise<RuleRow | undefined> {
  return visibleRules(knex, viewer).where('r.id', id).first<RuleRow | undefined>('r.*');
}

export async function ruleVersions(knex: Knex, ruleId: number) {
  return knex('classification_rule_versions').where({ rule_id: ruleId }).orderBy('version') as Promise<Array<{ version: number; expression: unknown; created_by: number | null; created_at: Date }>>;
}

export async function rulesOf(knex: Knex, viewer: Viewer, classificationId: number): Promise<RuleRow[]> {
  return visibleRules(knex, viewer).where('r.classification_id', classificationId).orderBy('r.id').select('r.*');
}

/** Active rules of active classifications, by classification priority, with their owners (to match accounts of the same owner). */
export async function activeRules(knex: Knex | Knex.Transaction) {
  return knex('classification_rules as r').join('account_classifications as c', 'c.id', 'r.classification_id')
    .where('r.is_active', true).where('c.is_active', true).orderBy('c.priority', 'desc').orderBy('r.id')
    .select('r.id', 'r.version', 'r.expression', 'r.db_type', 'r.classification_id', 'r.created_by', 'c.created_by as classification_owner') as Promise<Array<{
      id: number; version: number; expression: unknown; db_type: string | null; classification_id: number; created_by: number | null; classification_owner: number | null;
    }>>;
}

/** Whether a rule applies to an account whose instance `ownerId` owns: system rules to all, others to their owner's accounts. */
export const ruleAppliesTo = (rule: { created_by: number | null; classification_owner: number | null }, ownerId: number | null) =>
  (rule.created_by === null || rule.created_by === ownerId) && (rule.classification_owner === null || rule.classification_owner === ownerId);

export async function insertClassification(knex: Knex, row: Omit<ClassificationRow, 'id' | 'created_at' | 'updated_at' | 'description' | 'color'> & { description?: string | null; color?: string | null }): Promise<ClassificationRow> {
  const [created] = await knex('account_classifications').insert(row).returning('*');
  return created as ClassificationRow;
}

/** Changes a classification the caller was allowed to change (checked with `writable`). */
export async function updateClassification(knex: Knex, id: number, patch: Partial<Pick<ClassificationRow, 'name' | 'description' | 'risk_level' | 'priority' | 'color' | 'is_active'>>): Promise<ClassificationRow> {
  const [row] = await knex('account_classifications').where({ id }).update({ ...patch, updated_at: knex.fn.now() }).returning('*');
  return row as ClassificationRow;
}

export async function deleteClassification(knex: Knex, id: number) {
  await knex('account_classifications').where({ id }).delete();
}

/** A rule and its first version, owned by `createdBy`. */
export async function insertRule(knex: Knex, row: { classification_id: number; name: string; db_type: string | null; expression: unknown; is_active: boolean; created_by: number | null }): Promise<RuleRow> {
  return knex.transaction(async (trx) => {
    const [r] = await trx('classification_rules').insert({ ...row, expression: JSON.stringify(row.expression) }).returning('*');
    await trx('classification_rule_versions').insert({ rule_id: r.id, version: 1, expression: JSON.stringify(row.expression), created_by: row.created_by });
    return r as RuleRow;
  });
}

/** Changes a rule; a changed expression becomes a new version by `by`. */
export async function updateRule(knex: Knex, current: RuleRow, patch: Partial<Pick<RuleRow, 'name' | 'db_type' | 'is_active'>> & { expression?: unknown }, by: number | null): Promise<RuleRow> {
  return knex.transaction(async (trx) => {
    const { expression, ...rest } = patch;
    const update: Record<string, unknown> = { ...rest, updated_at: trx.fn.now() };
    if (expression !== undefined && JSON.stringify(expression) !== JSON.stringify(current.expression)) {
      update.expression = JSON.stringify(expression);
      update.version = current.version + 1;
      await trx('classification_rule_versions').insert({ rule_id: current.id, version: current.version + 1, expression: JSON.stringify(expression), created_by: by });
    }
    const [r] = await trx('classification_rules').where({ id: current.id }).update(update).returning('*');
    return r as RuleRow;
  });
}

export async function deleteRule(knex: Knex, id: number) {
  await knex('classification_rules').where({ id }).delete();
}
