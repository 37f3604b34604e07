import { z } from 'zod';
import type { AppDeps } from '../platform/deps';
import { route } from '../platform/http/route';
import { pageQuery } from '../platform/http/schemas';
import type { Principal } from '../platform/auth/principal';
import { requireMonitoringManager, requireOperator } from './access';
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
  const read = <T>(p: Principal, then: () => T) => { requireOperator(p); return then(); };
  const manage = <T>(p: Principal, then: () => T) => { requireMonitoringManager(p); return then(); };
  const alertIdParams = z.object({ id: z.string().min(1).max(300) });
  return [
    route({
      method: 'get', path: '/monitoring/dashboard', tags, permission: 'view', response: dashboardSchema,
      summary: 'Latest figures of every host that reported recently (combined), the API processes\' database pool, request and operation rates, active alerts by level; what idcflow does not have is null with a reason',
      handler: ({ principal }) => read(principal, () => metrics.dashboard()),
    }),
    route({
      method: 'get', path: '/monitoring/metrics/system', tags, permission: 'view', query: metricsQuery, response: z.array(metricPoint),
      summary: 'Host metrics over the last `hours` (default 24), one point per step (60 s up to 1 h, then 5-minute multiples so a series has at most 288 points)',
      handler: ({ principal, query }) => read(principal, () => metrics.series('host', query)),
    }),
    route({
      method: 'get', path: '/monitoring/metrics/application', tags, permission: 'view', query: metricsQuery.omit({ host: true }), response: z.array(metricPoint),
      summary: 'The platform\'s own metrics (database pool, request and error rates, operations) over the last `hours`',
      handler: ({ principal, query }) => read(principal, () => metrics.series('platform', query)),
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
      method: 'get', path: '/monitoring/alerts/active', tags, permission: 'view', response: z.array(alertSchema),
      summary: 'Alerts firing now (one per rule and source), newest first',
      handler: ({ principal }) => read(principal, () => rules.active()),
    }),
    route({
      method: 'get', path: '/monitoring/alerts', tags, permission: 'view', query: alertsQuery, response: alertsList,
      summary: 'Every firing, active and resolved, newest first',
      handler: ({ principal, query }) => read(principal, () => rules.alerts(query)),
    }),
    route({
      method: 'get', path: '/monitoring/alerts/rules', tags, permission: 'view', query: pageQuery, response: rulesList, summary: 'Alert rules',
      handler: ({ principal, query }) => read(principal, () => rules.list(query)),
    }),
    route({
      method: 'post', path: '/monitoring/alerts/rules', tags, permission: 'create', status: 201, body: createRuleBody, response: ruleSchema, message: '告警规则创建成功',
      summary: 'Create a rule: metric, condition, threshold, level, cooldown, enabled; mail and an optional signed webhook once per firing', noStore: true,
      handler: ({ caller, body }) => manage(caller.principal, () => rules.create(caller, body)),
    }),
    route({
      method: 'get', path: '/monitoring/alerts/rules/:id', tags, permission: 'view', params: ruleIdParams, response: ruleSchema, summary: 'An alert rule',
      handler: ({ principal, params }) => read(principal, async () => rules.present(await rules.row(params.id))),
    }),
    route({
      method: 'put', path: '/monitoring/alerts/rules/:id', tags, permission: 'update', params: ruleIdParams, body: updateRuleBody, response: ruleSchema, message: 'Alert rule updated',
      summary: 'Change a rule (only the fields given); a new webhook URL gets a new secret, shown in this answer', noStore: true,
      handler: ({ caller, params, body }) => manage(caller.principal, () => rules.update(caller, params.id, body)),
    }),
    route({
      method: 'delete', path: '/monitoring/alerts/rules/:id', tags, permission: 'delete', params: ruleIdParams,
      response: z.object({ id: z.string(), deleted: z.boolean() }), message: 'Alert rule deleted', summary: 'Delete a rule; its active alerts resolve',
      handler: ({ caller, params }) => manage(caller.principal, () => rules.remove(caller, params.id)),
    }),
    route({
      method: 'get', path: '/monitoring/alerts/:id', tags, permission: 'view', params: alertIdParams, response: alertSchema, summary: 'One firing',
      handler: ({ principal, params }) => read(principal, () => rules.alert(params.id)),
    }),
  ];
}
