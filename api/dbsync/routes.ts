import { z } from 'zod';
import { CHANGE_TYPES, DB_TYPES, SESSION_STATUSES, SYNC_TYPES, TASK_TYPES } from '../../shared/dbsync/types';
import type { AppDeps } from '../platform/deps';
import { route } from '../platform/http/route';
import { viewerOf } from '../platform/auth/principal';
import { dbId, pagination } from '../platform/http/schemas';
import { operationSchema } from '../platform/operations/present';
import {
  adhocTestBody, classificationBody, classificationUpdate, credentialBody, credentialUpdate, instanceBody, instanceUpdate, jobBody, jobUpdate, listInstancesQuery, listQuery, rowIdParams, ruleBody, ruleUpdate, startSyncBody,
} from './schemas';
import { dbsyncServices } from './services';
import { DashboardService } from './dashboard';
import {
  accountSchema, batchSchema, changeSchema, classificationSchema, credentialSchema, instanceSchema, jobSchema, matchSchema, ruleSchema,
  sessionDetailSchema, sessionSchema, testResultSchema,
} from './response-schemas';

export const obj = z.record(z.string(), z.unknown());
const list = (name: string, item: z.ZodType = obj) => z.object({ [name]: z.array(item), pagination });
export const stringId = z.object({ id: z.string().min(1).max(200) });
const accepted = z.object({ operation: operationSchema });

/** Database instances, credentials, account sync, classification, jobs and the dashboard (seed 002), natively under /api/v1. */
export function dbsyncRoutes(deps: AppDeps) {
  const { operations, catalog, sync, classification, jobs } = dbsyncServices(deps);
  const dash = new DashboardService(deps);
  const db = ['database instances'];
  const syncTags = ['account sync'];
  const cls = ['classification'];
  const jobTags = ['jobs'];
  const dashboard = ['dashboard'];
  return [
    // ----- database types -----
    route({ method: 'get', path: '/db/types', tags: db, permission: 'view', summary: 'Database types with ports, default databases, form fields and what sync reads', response: z.object({ types: z.array(obj) }), handler: async () => ({ types: catalog.listTypes() }) }),
    route({ method: 'get', path: '/db/types/active', tags: db, permission: 'view', summary: 'Active database types', response: z.object({ types: z.array(obj) }), handler: async () => ({ types: catalog.activeTypes() }) }),
    route({ method: 'get', path: '/db/types/form-options', tags: db, permission: 'view', summary: 'Options for the instance form: types, ports, default databases, fields, credentials', response: obj, handler: ({ principal }) => catalog.formOptions(viewerOf(principal)) }),

    // ----- credentials -----
    route({
      method: 'get', path: '/db/credentials', tags: db, permission: 'view', summary: 'Credentials (passwords are never returned)',
      query: listQuery.extend({ search: z.string().max(100).optional(), db_type: z.enum(DB_TYPES).optional() }), response: list('credentials', credentialSchema),
      handler: ({ principal, query }) => catalog.listCredentials(viewerOf(principal), query),
    }),
    route({ method: 'post', path: '/db/credentials', tags: db, permission: 'create', status: 201, summary: 'Create a credential; the password is sealed with AES-256-GCM', body: credentialBody, response: credentialSchema, message: 'Credential created', handler: ({ caller, body }) => catalog.createCredential(caller, body) }),
    route({ method: 'get', path: '/db/credentials/:id', tags: db, permission: 'view', summary: 'A credential (without its password)', params: rowIdParams, response: credentialSchema, handler: ({ principal, params }) => catalog.getCredential(viewerOf(principal), params.id) }),
    route({ method: 'put', path: '/db/credentials/:id', tags: db, permission: 'update', summary: 'Update a credential (send password to replace it)', params: rowIdParams, body: credentialUpdate, response: credentialSchema, message: 'Credential updated', handler: ({ caller, params, body }) => catalog.updateCredential(caller, params.id, body) }),
    route({ method: 'delete', path: '/db/credentials/:id', tags: db, permission: 'delete', summary: 'Delete a credential no instance uses (409 otherwise)', params: rowIdParams, response: obj, message: 'Credential deleted', handler: ({ caller, params }) => catalog.deleteCredential(caller, params.id) }),

    // ----- instances -----
    route({ method: 'get', path: '/db/instances', tags: db, permission: 'view', summary: 'Database instances', query: listQuery.extend(listInstancesQuery.shape), response: list('instances', instanceSchema), handler: ({ principal, query }) => catalog.listInstances(viewerOf(principal), query) }),
    route({ method: 'post', path: '/db/instances', tags: db, permission: 'create', status: 201, summary: 'Add a database instance', body: instanceBody, response: instanceSchema, message: 'Instance created', handler: ({ caller, body }) => catalog.createInstance(caller, body) }),
    route({ method: 'get', path: '/db/instances/statistics', tags: db, permission: 'view', summary: 'Instance and account counts by type, environment and state', response: obj, handler: ({ principal }) => catalog.instanceStatistics(viewerOf(principal)) }),
    route({ method: 'get', path: '/db/instances/:id', tags: db, permission: 'view', summary: 'An instance with its account counts and last sync', params: rowIdParams, response: instanceSchema, handler: ({ principal, params }) => catalog.getInstance(viewerOf(principal), params.id) }),
    route({ method: 'put', path: '/db/instances/:id', tags: db, permission: 'update', summary: 'Update an instance', params: rowIdParams, body: instanceUpdate, response: instanceSchema, message: 'Instance updated', handler: ({ caller, params, body }) => catalog.updateInstance(caller, params.id, body) }),
    route({ method: 'delete', path: '/db/instances/:id', tags: db, permission: 'delete', summary: 'Delete an instance (its accounts stay in history)', params: rowIdParams, response: obj, message: 'Instance deleted', handler: ({ caller, params }) => catalog.deleteInstance(caller, params.id) }),
    route({
      method: 'post', path: '/db/instances/:id/test', tags: db, permission: 'view', summary: 'Test the connection of a saved instance (runs on a worker, bounded by IDCFLOW_DB_CONNECT_TIMEOUT_MS)',
      description: 'Answers 200 with success=false and error_type dns | refused | auth | tls | timeout | network | permission | unknown when the server cannot be reached.',
      params: rowIdParams, response: testResultSchema.extend({ instance_id: z.number() }), handler: ({ caller, params }) => catalog.testInstance(caller, params.id),
    }),
    route({ method: 'post', path: '/db/test-connection', tags: db, permission: 'create', summary: 'Test connection parameters without saving them (needs create: it reaches any host)', body: adhocTestBody, response: testResultSchema, handler: ({ caller, body }) => catalog.testAdhoc(caller, body) }),
    route({
      method: 'post', path: '/db/instances/:id/sync', tags: syncTags, permission: 'update', startsOperation: true, summary: 'Sync the accounts of one instance (a manual_single session)',
      params: rowIdParams, response: accepted, handler: async ({ caller, params }) => operations.accepted(await sync.startSync(caller, {}, params.id), 'Sync session started'),
    }),
    route({
      method: 'get', path: '/db/instances/:id/accounts', tags: syncTags, permission: 'view', summary: 'Accounts of an instance', params: rowIdParams,
      query: listQuery.extend({ is_active: z.enum(['true', 'false']).optional() }), response: list('accounts', accountSchema),
      handler: async ({ principal, params, query }) => { await catalog.instance(viewerOf(principal), params.id); return sync.listAccounts(viewerOf(principal), { ...query, instance_id: params.id }); },
    }),

    // ----- sessions, accounts, change log -----
    route({
      method: 'post', path: '/db/sessions', tags: syncTags, permission: 'update', startsOperation: true, summary: 'Start an account sync session over instances (all active ones, a list, or one type)',
      description: 'One child workflow per instance, at most IDCFLOW_DBSYNC_CONCURRENCY at once. The operation id is the session id.',
      body: startSyncBody, response: accepted, handler: async ({ caller, body }) => operations.accepted(await sync.startSync(caller, body), 'Sync session started'),
    }),
    route({
      method: 'get', path: '/db/sessions', tags: syncTags, permission: 'view', summary: 'Sync sessions, newest first',
      query: listQuery.extend({ status: z.enum(SESSION_STATUSES).optional(), sync_type: z.enum(SYNC_TYPES).optional(), job_id: z.string().max(100).optional() }), response: list('sessions', sessionSchema),
      handler: ({ principal, query }) => sync.listSessions(viewerOf(principal), query),
    }),
    route({ method: 'get', path: '/db/sessions/statistics', tags: syncTags, permission: 'view', summary: 'Sync statistics: sessions by status and type, items synced', response: obj, handler: ({ principal }) => sync.syncStatistics(viewerOf(principal)) }),
    route({ method: 'get', path: '/db/sessions/:id', tags: syncTags, permission: 'view', summary: 'A sync session with one record per instance', params: stringId, response: sessionDetailSchema, handler: ({ principal, params }) => sync.getSession(viewerOf(principal), params.id) }),
    route({ method: 'post', path: '/db/sessions/:id/cancel', tags: syncTags, permission: 'update', summary: 'Cancel a running session: instances in progress finish, no new one starts', params: stringId, response: obj, message: 'Cancel requested', handler: ({ caller, params }) => sync.cancelSession(caller, params.id) }),
    route({ method: 'get', path: '/db/sessions/:id/error-logs', tags: syncTags, permission: 'view', summary: 'Failed and cancelled instance records of a session', params: stringId, response: obj, handler: ({ principal, params }) => sync.sessionErrors(viewerOf(principal), params.id) }),
    route({
      method: 'get', path: '/db/accounts', tags: syncTags, permission: 'view', summary: 'Synced accounts with their privileges snapshot and classifications',
      query: listQuery.extend({ instance_id: dbId.optional(), is_active: z.enum(['true', 'false']).optional(), classification: z.string().max(64).optional(), search: z.string().max(100).optional(), db_type: z.enum(DB_TYPES).optional() }),
      response: list('accounts', accountSchema), handler: ({ principal, query }) => sync.listAccounts(viewerOf(principal), query),
    }),
    route({ method: 'get', path: '/db/accounts/:id', tags: syncTags, permission: 'view', summary: 'An account', params: rowIdParams, response: accountSchema, handler: ({ principal, params }) => sync.getAccount(viewerOf(principal), params.id) }),
    route({
      method: 'get', path: '/db/account-changes', tags: syncTags, permission: 'view', summary: 'The account change log (add, modify_privilege, modify_other, delete) with diffs',
      query: listQuery.extend({ instance_id: dbId.optional(), account_id: dbId.optional(), change_type: z.enum(CHANGE_TYPES).optional(), session_id: z.string().max(200).optional() }),
      response: list('changes', changeSchema), handler: ({ principal, query }) => sync.listChanges(viewerOf(principal), query),
    }),

    // ----- classification -----
    route({ method: 'get', path: '/db/classifications', tags: cls, permission: 'view', summary: 'Classifications with rule and account counts', response: z.object({ classifications: z.array(obj) }), handler: ({ principal }) => classification.listClassifications(viewerOf(principal)) }),
    route({ method: 'post', path: '/db/classifications', tags: cls, permission: 'create', status: 201, summary: 'Create a classification', body: classificationBody, response: classificationSchema, message: 'Classification created', handler: ({ caller, body }) => classification.createClassification(caller, body) }),
    route({ method: 'get', path: '/db/classifications/:id', tags: cls, permission: 'view', summary: 'A classification with its rules', params: rowIdParams, response: classificationSchema, handler: ({ principal, params }) => classification.getClassification(viewerOf(principal), params.id) }),
    route({ method: 'put', path: '/db/classifications/:id', tags: cls, permission: 'update', summary: 'Update a classification', params: rowIdParams, body: classificationUpdate, response: classificationSchema, message: 'Classification updated', handler: ({ caller, params, body }) => classification.updateClassification(caller, params.id, body) }),
    route({ method: 'delete', path: '/db/classifications/:id', tags: cls, permission: 'delete', summary: 'Delete a classification (system defaults cannot be deleted)', params: rowIdParams, response: obj, message: 'Classification deleted', handler: ({ caller, params }) => classification.deleteClassification(caller, params.id) }),
    route({
      method: 'post', path: '/db/classifications/:id/rules', tags: cls, permission: 'create', status: 201, summary: 'Add a rule: a JSON expression validated on write',
      description: 'Expressions: {"and":[…]}, {"or":[…]}, {"not":…}, {"fn":"is_superuser"|"is_locked"|"can_login"}, {"fn":"has_capability"|"has_role","name":…}, {"fn":"has_privilege","privilege":…,"scope"?:global|server|database|schema|table,"object"?:…}, {"fn":"db_type_in","types":[…]}. A bad expression answers 422 naming its JSON path.',
      params: rowIdParams, body: ruleBody, response: ruleSchema, message: 'Rule created', handler: ({ caller, params, body }) => classification.createRule(caller, params.id, body),
    }),
    route({ method: 'get', path: '/db/rules/:id', tags: cls, permission: 'view', summary: 'A rule with all its versions', params: rowIdParams, response: ruleSchema, handler: ({ principal, params }) => classification.getRule(viewerOf(principal), params.id) }),
    route({ method: 'put', path: '/db/rules/:id', tags: cls, permission: 'update', summary: 'Update a rule; a changed expression becomes a new version', params: rowIdParams, body: ruleUpdate, response: ruleSchema, message: 'Rule updated', handler: ({ caller, params, body }) => classification.updateRule(caller, params.id, body) }),
    route({ method: 'delete', path: '/db/rules/:id', tags: cls, permission: 'delete', summary: 'Delete a rule', params: rowIdParams, response: obj, message: 'Rule deleted', handler: ({ caller, params }) => classification.deleteRule(caller, params.id) }),
    route({
      method: 'post', path: '/db/batches', tags: cls, permission: 'update', startsOperation: true, summary: 'Run a classification batch over the active accounts (a workflow); the operation id is the batch id',
      body: startSyncBody, response: accepted, handler: async ({ caller, body }) => operations.accepted(await classification.startClassification(caller, body), 'Classification started'),
    }),
    route({ method: 'get', path: '/db/batches', tags: cls, permission: 'view', summary: 'Classification batches, newest first', query: listQuery.extend({ status: z.string().max(16).optional(), job_id: z.string().max(100).optional() }), response: list('batches', batchSchema), handler: ({ principal, query }) => classification.listBatches(viewerOf(principal), query) }),
    route({ method: 'get', path: '/db/batches/:id', tags: cls, permission: 'view', summary: 'A batch with its matches per classification', params: stringId, response: batchSchema, handler: ({ principal, params }) => classification.getBatch(viewerOf(principal), params.id) }),
    route({
      method: 'get', path: '/db/batches/:id/matches', tags: cls, permission: 'view', summary: 'The accounts a batch assigned to classifications', params: stringId,
      query: listQuery.extend({ classification: z.string().max(64).optional(), instance_id: dbId.optional() }), response: list('matches', matchSchema),
      handler: ({ principal, params, query }) => classification.batchMatches(viewerOf(principal), params.id, query),
    }),

    // ----- jobs -----
    route({ method: 'get', path: '/db/jobs', tags: jobTags, permission: 'scheduler_view', summary: 'Scheduled jobs', query: listQuery.extend({ task_type: z.enum(TASK_TYPES).optional(), state: z.enum(['active', 'paused', 'disabled']).optional() }), response: list('jobs', jobSchema), handler: ({ principal, query }) => jobs.listJobs(viewerOf(principal), query) }),
    route({
      method: 'post', path: '/db/jobs', tags: jobTags, permission: 'scheduler_manage', status: 201, summary: 'Create a job: a Temporal Schedule',
      description: 'schedule: five fields (minute hour day month weekday) or six with seconds first (`0 */30 * * * *`). An invalid one answers 422 naming the field (schedule.minute…).',
      body: jobBody, response: jobSchema, message: 'Job created', handler: ({ caller, body }) => jobs.createJob(caller, body),
    }),
    route({ method: 'get', path: '/db/jobs/:id', tags: jobTags, permission: 'scheduler_view', summary: 'A job with its next run and recent history', params: stringId, response: jobSchema, handler: ({ principal, params }) => jobs.getJob(viewerOf(principal), params.id) }),
    route({ method: 'put', path: '/db/jobs/:id', tags: jobTags, permission: 'scheduler_manage', summary: 'Update a job and its schedule', params: stringId, body: jobUpdate, response: jobSchema, message: 'Job updated', handler: ({ caller, params, body }) => jobs.updateJob(caller, params.id, body) }),
    route({ method: 'delete', path: '/db/jobs/:id', tags: jobTags, permission: 'scheduler_manage', summary: 'Delete a job and its schedule', params: stringId, response: obj, message: 'Job deleted', handler: ({ caller, params }) => jobs.deleteJob(caller, params.id) }),
    ...(['enable', 'disable', 'pause', 'resume'] as const).map((change) => route({
      method: 'post', path: `/db/jobs/:id/${change}`, tags: jobTags, permission: 'scheduler_manage', summary: `${change[0].toUpperCase()}${change.slice(1)} a job (pauses or unpauses its Temporal Schedule)`,
      params: stringId, response: jobSchema, message: `Job ${change}d`, handler: ({ caller, params }) => jobs.setJobState(caller, params.id, change),
    })),
    route({ method: 'post', path: '/db/jobs/:id/run', tags: jobTags, permission: 'scheduler_manage', summary: 'Run a job now (triggers its schedule)', params: stringId, response: obj, message: 'Job triggered', handler: ({ caller, params }) => jobs.runJobNow(caller, params.id) }),
    route({ method: 'get', path: '/db/jobs/:id/history', tags: jobTags, permission: 'scheduler_view', summary: 'Sessions and batches the job’s runs produced', params: stringId, query: listQuery, response: obj, handler: ({ principal, params, query }) => jobs.jobHistory(viewerOf(principal), params.id, query) }),

    // ----- dashboard -----
    route({ method: 'get', path: '/dashboard/overview', tags: dashboard, permission: 'view', summary: 'Instances, accounts by status and classification, users, jobs, sync', response: obj, handler: ({ principal }) => dash.overview(viewerOf(principal)) }),
    route({ method: 'get', path: '/dashboard/charts', tags: dashboard, permission: 'view', summary: '7-day trends of syncs, logs and tasks', response: obj, handler: ({ principal }) => dash.charts(viewerOf(principal)) }),
    route({ method: 'get', path: '/dashboard/activities', tags: dashboard, permission: 'view', summary: 'Recent activities from the audit trail', query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }), response: z.object({ activities: z.array(obj) }), handler: async ({ principal, query }) => ({ activities: await dash.activities(principal, query.limit) }) }),
    route({ method: 'get', path: '/dashboard/status', tags: dashboard, permission: 'view', summary: 'CPU, memory, disk, database and Temporal', response: obj, handler: () => dash.status() }),
  ];
}
