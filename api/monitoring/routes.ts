import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { MANAGERS, OPERATORS } from '../../shared/platform/permissions';
import { route } from '../platform/http/route';
import { pageQuery } from '../platform/http/schemas';
import { agentHostParams, requireOwnHost } from '../compute/agent-identity';
import { MetricsService } from './metrics';
import { AlertRuleService } from './rules';
import {
  alertSchema, alertsList, alertsQuery, createRuleBody, dashboardSchema, metricPoint, metricsQuery, pushSampleBody, ruleIdParams, ruleSchema, rulesList, updateRuleBody,
} from './schemas';

/** Seed 003's /monitoring/*: the dashboard and series from the metrics store, alert rules and the alerts they raise. */
export function monitoringRoutes(deps: AppDeps) {
  const metrics = new MetricsService(deps);
  const rules = new AlertRuleService(deps);
  const tags = ['monitoring'];
  const alertIdParams = z.object({ id: z.string().min(1).max(300) });
  return [
    route({
      method: 'get', path: '/monitoring/dashboard', tags, permission: 'view', roles: OPERATORS, response: dashboardSchema,
      summary: 'Latest figures of every host that reported recently (combined), the API processes\' database pool, request and operation rates, active alerts by level; what idcflow does not have is null with a reason',
      handler: () => metrics.dashboard(),
    }),
    route({
      method: 'get', path: '/monitoring/metrics/system', tags, permission: 'view', roles: OPERATORS, query: metricsQuery, response: z.array(metricPoint),
      summary: 'Host metrics over the last `hours` (default 24), one point per step (60 s up to 1 h, then 5-minute multiples so a series has at most 288 points)',
      handler: ({ query }) => metrics.series('host', query),
    }),
    route({
      method: 'get', path: '/monitoring/metrics/application', tags, permission: 'view', roles: OPERATORS, query: metricsQuery.omit({ host: true }), response: z.array(metricPoint),
      summary: 'The platform\'s own metrics (database pool, request and error rates, operations) over the last `hours`',
      handler: ({ query }) => metrics.series('platform', query),
    }),
    route({
      method: 'post', path: '/monitoring/metrics', tags, permission: 'admin', status: 201, body: pushSampleBody,
      response: z.object({ host: z.string(), timestamp: z.string(), values: z.number() }), message: 'Sample recorded',
      summary: 'Record a host sample from outside (host agents record their own): metric name → value',
      handler: ({ body }) => metrics.push(body),
    }),
    route({
      method: 'post', path: '/agent/hosts/:name/metrics', tags: ['agents'], auth: 'agent', status: 201, params: agentHostParams, body: pushSampleBody.omit({ host: true }),
      response: z.object({ host: z.string(), timestamp: z.string(), values: z.number() }), message: 'Sample recorded',
      summary: 'A host agent\'s sample of its own host\'s figures (metric name → value)',
      handler: ({ agent, params, body }) => { requireOwnHost(agent, params.name); return metrics.push({ ...body, host: agent.hostName }); },
    }),
    route({
      method: 'get', path: '/monitoring/alerts/active', tags, permission: 'view', roles: OPERATORS, response: z.array(alertSchema),
      summary: 'Alerts firing now (one per rule and source), newest first',
      handler: () => rules.active(),
    }),
    route({
      method: 'get', path: '/monitoring/alerts', tags, permission: 'view', roles: OPERATORS, query: alertsQuery, response: alertsList,
      summary: 'Every firing, active and resolved, newest first',
      handler: ({ query }) => rules.alerts(query),
    }),
    route({
      method: 'get', path: '/monitoring/alerts/rules', tags, permission: 'view', roles: OPERATORS, query: pageQuery, response: rulesList, summary: 'Alert rules',
      handler: ({ query }) => rules.list(query),
    }),
    route({
      method: 'post', path: '/monitoring/alerts/rules', tags, permission: 'create', roles: MANAGERS, status: 201, body: createRuleBody, response: ruleSchema, message: '告警规则创建成功',
      summary: 'Create a rule: metric, condition, threshold, level, cooldown, enabled; mail and an optional signed webhook once per firing', noStore: true,
      handler: ({ caller, body }) => rules.create(caller, body),
    }),
    route({
      method: 'get', path: '/monitoring/alerts/rules/:id', tags, permission: 'view', roles: OPERATORS, params: ruleIdParams, response: ruleSchema, summary: 'An alert rule',
      handler: async ({ params }) => rules.present(await rules.row(params.id)),
    }),
    route({
      method: 'put', path: '/monitoring/alerts/rules/:id', tags, permission: 'update', roles: MANAGERS, params: ruleIdParams, body: updateRuleBody, response: ruleSchema, message: 'Alert rule updated',
      summary: 'Change a rule (only the fields given); a new webhook URL gets a new secret, shown in this answer', noStore: true,
      handler: ({ caller, params, body }) => rules.update(caller, params.id, body),
    }),
    route({
      method: 'delete', path: '/monitoring/alerts/rules/:id', tags, permission: 'delete', roles: MANAGERS, params: ruleIdParams,
      response: z.object({ id: z.string(), deleted: z.boolean() }), message: 'Alert rule deleted', summary: 'Delete a rule; its active alerts resolve',
      handler: ({ caller, params }) => rules.remove(caller, params.id),
    }),
    route({
      method: 'get', path: '/monitoring/alerts/:id', tags, permission: 'view', roles: OPERATORS, params: alertIdParams, response: alertSchema, summary: 'One firing',
      handler: ({ params }) => rules.alert(params.id),
    }),
  ];
}
