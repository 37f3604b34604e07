import { z } from 'zod';
import { conflict, forbidden, notFound, validationError, uniqueOr409 } from '../../shared/platform/errors';
import { checkRuleExpr } from '../../shared/dbsync/rules';
import {     type DbType } from '../../shared/dbsync/types';
import type { AppDeps } from '../platform/deps';
import {   iso } from '../platform/http/schemas';
import type { OperationService } from '../platform/operations/service';
import type { Caller } from '../platform/caller';
import { classifyAccountsWorkflow } from '../../workflows/dbsync/runbooks';
import type { Viewer } from '../../db/queries/platform/scope';
import {
  deleteClassification, deleteRule, findClassification, findRule, insertClassification, insertRule, rulesOf, ruleVersions, updateClassification, updateRule,
  visibleClassifications, writable, type ClassificationRow, type RuleRow,
} from '../../db/queries/dbsync/classifications';
import { batchMatchesQuery, findBatch, insertBatch, matchesByClassification, visibleBatches, type BatchRow } from '../../db/queries/dbsync/batches';
import { missingInstances } from '../../db/queries/dbsync/instances';
import { viewerOf } from '../platform/auth/principal';

import { DbsyncBase } from './base';
import {
   classificationBody, classificationUpdate,        pageRows, ruleBody, ruleUpdate, type ListQuery, type Row } from './schemas';
import {
   presentBatch,  presentClassification,    presentMatch, 
  presentRule } from './presenters';

/** Classifications, their versioned rules, and classification batches (operations) with their matches. */
export class ClassificationService extends DbsyncBase {
  constructor(deps: AppDeps, private readonly operations: OperationService) {
    super(deps);
  }

  // ----- classification -----
  /** System defaults and the viewer's own (an admin's: all), with counts of the viewer's accounts. */
  async listClassifications(viewer: Viewer) {
    const k = this.knex;
    const accountOwner = viewer.admin ? '' : ` and exists (select 1 from db_instances i where i.id = a.instance_id and i.created_by = ${Number(viewer.userId ?? -1)})`;
    const rows = await visibleClassifications(k, viewer).orderBy('c.priority', 'desc').orderBy('c.id').select('c.*',
      k.raw('(select count(*) from classification_rules r where r.classification_id = c.id and r.is_active)::int as rule_count'),
      k.raw(`(select count(*) from account_classification_assignments x join db_accounts a on a.id = x.account_id where x.classification_id = c.id and a.is_active${accountOwner})::int as account_count`));
    return { classifications: rows.map(presentClassification) };
  }

  async classification(viewer: Viewer, id: number): Promise<ClassificationRow> {
    const c = await findClassification(this.knex, viewer, id);
    if (!c) throw notFound('classification', id);
    return c;
  }

  /** One the viewer may change: their own (an admin: any); a system default they can read is a 403. */
  private async ownClassification(viewer: Viewer, id: number): Promise<ClassificationRow> {
    const c = await this.classification(viewer, id);
    if (!writable(viewer, c)) throw forbidden('System classifications are changed by admins only');
    return c;
  }

  async getClassification(viewer: Viewer, id: number) {
    const c = await this.classification(viewer, id);
    const rules = await rulesOf(this.knex, viewer, id);
    return { ...presentClassification(c as unknown as Row), rules: rules.map((r) => presentRule(r as unknown as Row)) };
  }

  async createClassification(caller: Caller, body: z.infer<typeof classificationBody>) {
    return uniqueOr409(async () => {
      const row = await insertClassification(this.knex, { ...body, is_system: false, created_by: caller.principal.userId });
      await this.audit(caller, 'classification_create', `Classification ${row.code} created`, 'classification', row.id);
      return presentClassification(row as unknown as Row);
    }, `A classification with code ${body.code} exists`, 'code');
  }

  async updateClassification(caller: Caller, id: number, body: z.infer<typeof classificationUpdate>) {
    await this.ownClassification(viewerOf(caller.principal), id);
    const row = await updateClassification(this.knex, id, body);
    await this.audit(caller, 'classification_update', `Classification ${row.code} updated`, 'classification', id, { fields: Object.keys(body) });
    return presentClassification(row as unknown as Row);
  }

  async deleteClassification(caller: Caller, id: number) {
    const c = await this.ownClassification(viewerOf(caller.principal), id);
    if (c.is_system) throw conflict(`Classification ${c.code} is a system default; deactivate it instead`);
    await deleteClassification(this.knex, id);
    await this.audit(caller, 'classification_delete', `Classification ${c.code} deleted`, 'classification', id);
    return { id, deleted: true };
  }

  private checkExpression(expression: unknown) {
    const problem = checkRuleExpr(expression);
    if (problem) throw validationError([{ field: problem.path, message: problem.message }], `Invalid rule expression: ${problem.path} ${problem.message}`);
  }

  /** A rule on a classification the caller may read: theirs to own (on a system classification too), applied to their accounts. */
  async createRule(caller: Caller, classificationId: number, body: z.infer<typeof ruleBody>) {
    await this.classification(viewerOf(caller.principal), classificationId);
    this.checkExpression(body.expression);
    const row = await insertRule(this.knex, { classification_id: classificationId, name: body.name, db_type: body.db_type ?? null, expression: body.expression, is_active: body.is_active, created_by: caller.principal.userId });
    await this.audit(caller, 'rule_create', `Rule ${row.name} created`, 'classification_rule', row.id);
    return presentRule(row as unknown as Row);
  }

  async rule(viewer: Viewer, id: number): Promise<RuleRow> {
    const r = await findRule(this.knex, viewer, id);
    if (!r) throw notFound('rule', id);
    return r;
  }

  private async ownRule(viewer: Viewer, id: number): Promise<RuleRow> {
    const r = await this.rule(viewer, id);
    if (!writable(viewer, r)) throw forbidden('System rules are changed by admins only');
    return r;
  }

  async getRule(viewer: Viewer, id: number) {
    const r = await this.rule(viewer, id) as unknown as Row;
    const versions = await ruleVersions(this.knex, id);
    return { ...presentRule(r), versions: versions.map((v) => ({ version: v.version, expression: v.expression, created_by: v.created_by ?? null, created_at: iso(v.created_at) })) };
  }

  async updateRule(caller: Caller, id: number, body: z.infer<typeof ruleUpdate>) {
    const current = await this.ownRule(viewerOf(caller.principal), id);
    if (body.expression !== undefined) this.checkExpression(body.expression);
    const patch: Row = {};
    for (const k of ['name', 'db_type', 'is_active', 'expression'] as const) if (body[k] !== undefined) patch[k] = body[k];
    const row = await updateRule(this.knex, current, patch, caller.principal.userId);
    await this.audit(caller, 'rule_update', `Rule ${row.name} updated (version ${row.version})`, 'classification_rule', id);
    return presentRule(row as unknown as Row);
  }

  async deleteRule(caller: Caller, id: number) {
    const r = await this.ownRule(viewerOf(caller.principal), id);
    await deleteRule(this.knex, id);
    await this.audit(caller, 'rule_delete', `Rule ${r.name} deleted`, 'classification_rule', id);
    return { id, deleted: true };
  }

  async startClassification(caller: Caller, body: { instance_ids?: number[]; db_type?: DbType }) {
    if (body.instance_ids?.length) {
      const missing = await missingInstances(this.knex, viewerOf(caller.principal), body.instance_ids);
      if (missing.length) throw notFound('instance', missing.join(', '));
    }
    const started = await this.operations.start(caller, body, () => ({
      type: 'dbsync.classify', resource: { type: 'db_classification', id: 'accounts', name: 'account classification', url: (batchId: string) => `/api/v1/db/batches/${batchId}` },
      params: { ...body }, workflow: classifyAccountsWorkflow,
      input: { batchType: 'manual' as const, instanceIds: body.instance_ids ?? null, dbType: body.db_type ?? null, createdBy: caller.principal.userId, jobId: null },
      summary: 'Classify database accounts',
    }));
    await insertBatch(this.knex, { id: started.operation.id, batch_type: 'manual', status: 'running', created_by: caller.principal.userId, operation_id: started.operation.id, filters: JSON.stringify({ instance_ids: body.instance_ids ?? null, db_type: body.db_type ?? null }) });
    return started;
  }

  async listBatches(viewer: Viewer, q: ListQuery & { status?: string; job_id?: string }) {
    const query = visibleBatches(this.knex, viewer).orderBy('started_at', 'desc').orderBy('id');
    if (q.status) query.where({ status: q.status });
    if (q.job_id) query.where({ job_id: q.job_id });
    const { rows, pagination } = await pageRows(query, q);
    return { batches: rows.map(presentBatch), pagination };
  }

  private async batch(viewer: Viewer, id: string): Promise<BatchRow> {
    const b = await findBatch(this.knex, viewer, id);
    if (!b) throw notFound('classification batch', id);
    return b;
  }

  async getBatch(viewer: Viewer, id: string) {
    const b = await this.batch(viewer, id) as unknown as Row;
    const byClass = await matchesByClassification(this.knex, id);
    return { ...presentBatch(b), by_classification: byClass.map((r) => ({ classification_id: r.id, code: r.code, name: r.name, risk_level: r.risk_level, matches: r.n })) };
  }

  async batchMatches(viewer: Viewer, id: string, q: ListQuery & { classification?: string; instance_id?: number }) {
    await this.batch(viewer, id);
    const query = batchMatchesQuery(this.knex, id, q);
    const { rows, pagination } = await pageRows(query, q);
    return { matches: rows.map(presentMatch), pagination };
  }
}
