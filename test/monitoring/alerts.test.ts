import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApi, expectError, eventually, type TestApi, type TestUser } from '../support/api';
import { spawnWorker, type Spawned } from '../support/processes';
import { startSmtp } from '../support/rentals';
import { liveClient, testHost, wsUrl } from './support';
import { monitoringEvaluateAlertsWorkflow } from '../../workflows/monitoring/alerts';
import { ensureMonitoringSchedules, removeMonitoringSchedules } from '../../api/monitoring/schedules';
import { Webhook } from 'standardwebhooks';

describe('monitoring: alert rules, evaluation by Temporal, one mail per firing', () => {
  const queue = `monitoring-alerts-${crypto.randomBytes(3).toString('hex')}`;
  let api: TestApi;
  let admin: string;
  let manager: TestUser, viewer: TestUser, user: TestUser;
  let worker: Spawned;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  const hooks: Array<{ path: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  let hookServer: http.Server;
  let hookUrl: string;

  beforeAll(async () => {
    smtp = await startSmtp();
    hookServer = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => { hooks.push({ path: req.url ?? '', headers: req.headers, body }); res.writeHead(204).end(); });
    });
    await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', () => r()));
    hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`;
    [api, worker] = await Promise.all([startTestApi(), spawnWorker(queue, { IDCFLOW_SMTP_URL: smtp.url, IDCFLOW_MAIL_FROM: 'alerts <alerts@example.test>' })]);
    admin = await api.admin();
    [manager, viewer, user] = await Promise.all([api.createUser('manager'), api.createUser('viewer'), api.createUser('user')]);
  });
  afterAll(async () => {
    await removeMonitoringSchedules(api.deps.temporal, `-${queue}`).catch(() => undefined);
    await worker?.stop();
    await api?.close();
    await smtp?.close();
    hookServer?.close();
  });

  const push = async (host: string, values: Record<string, number>) => {
    const res = await api.call('POST', '/api/v1/monitoring/metrics', { token: admin, body: { host, values } });
    expect(res.status).toBe(201);
  };
  /** One evaluation of every rule, answering only what it did to `ruleId`'s alerts (other files' rules share the database). */
  const evaluate = async (ruleId: string) => {
    const r = await api.deps.temporal.workflow.execute(monitoringEvaluateAlertsWorkflow, { taskQueue: queue, workflowId: `test-evaluate-${crypto.randomUUID()}` });
    const own = (ids: string[]) => ids.filter((id) => id.startsWith(`${ruleId}_`));
    return { ...r, fired: own(r.fired), resolved: own(r.resolved) };
  };
  const alertsOf = async (ruleId: string) => (await api.call('GET', `/api/v1/monitoring/alerts?rule_id=${ruleId}&size=100`, { token: admin })).body.data.alerts as Array<{ id: string; status: string; current_value: number; resolve_reason: string | null }>;

  it('creates, lists, reads, changes and deletes rules; refuses bad input, no token, wrong roles, duplicates and missing ones', async () => {
    const body = { id: `memory_high_${crypto.randomBytes(3).toString('hex')}`, name: '内存使用率过高', metric_name: 'system.memory.usage', condition: '>', threshold: 85.0, level: 'error', enabled: true, cooldown_minutes: 5, description: '内存使用率超过85%' };
    const created = await api.call('POST', '/api/v1/monitoring/alerts/rules', { token: manager.token, body });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ success: true, message: '告警规则创建成功', data: { ...body, host: null, notify_emails: [], webhook_url: null, webhook_endpoint_id: null } });
    expect(created.body.data.webhook_secret).toBeUndefined();
    expectError(await api.call('POST', '/api/v1/monitoring/alerts/rules', { token: manager.token, body }), 409, 'CONFLICT');
    for (const bad of [{ condition: '=>' }, { threshold: 'high' }, { level: 'panic' }, { metric_name: 'CPU!' }, { cooldown_minutes: -1 }, { webhook_url: 'ftp://x' }, { notify_emails: ['not-an-email'] }, { name: '' }]) {
      const res = await api.call('POST', '/api/v1/monitoring/alerts/rules', { token: manager.token, body: { ...body, id: undefined, ...bad } });
      expectError(res, 422, 'VALIDATION_ERROR');
      expect(res.body.error.details.field).toBe(Object.keys(bad)[0] === 'notify_emails' ? 'notify_emails.0' : Object.keys(bad)[0]);
    }
    expectError(await api.call('POST', '/api/v1/monitoring/alerts/rules', { token: manager.token, rawBody: '{"name":' }), 400, 'BAD_REQUEST');
    expectError(await api.call('POST', '/api/v1/monitoring/alerts/rules', { body }), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('POST', '/api/v1/monitoring/alerts/rules', { token: viewer.token, body: { ...body, id: 'x1' } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('POST', '/api/v1/monitoring/alerts/rules', { token: user.token, body: { ...body, id: 'x2' } }), 403, 'INSUFFICIENT_PERMISSIONS');

    const list = await api.call('GET', '/api/v1/monitoring/alerts/rules?size=100', { token: viewer.token });
    expect(list.status).toBe(200);
    expect(list.body.data.rules.map((r: { id: string }) => r.id)).toContain(body.id);
    expect(list.body.data.pagination).toMatchObject({ page: 1, size: 100 });
    expectError(await api.call('GET', '/api/v1/monitoring/alerts/rules', { token: user.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('GET', '/api/v1/monitoring/alerts/rules?size=1000', { token: viewer.token }), 422, 'VALIDATION_ERROR');
    expect((await api.call('GET', `/api/v1/monitoring/alerts/rules/${body.id}`, { token: viewer.token })).body.data.threshold).toBe(85);
    expectError(await api.call('GET', '/api/v1/monitoring/alerts/rules/nope', { token: viewer.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', '/api/v1/monitoring/alerts/rules/bad%20id', { token: viewer.token }), 422, 'VALIDATION_ERROR');

    // A rule's webhook is held to the webhooks domain's SSRF checks; only an admin may allow a private target.
    for (const target of [hookUrl, 'http://10.1.2.3/hook', 'http://[::1]:9/hook', 'http://169.254.169.254/latest', 'http://localhost:9/hook', 'http://user:pw@example.com/']) {
      const refused = await api.call('PUT', `/api/v1/monitoring/alerts/rules/${body.id}`, { token: manager.token, body: { threshold: 90, webhook_url: target } });
      expectError(refused, 422, 'VALIDATION_ERROR');
      expect(refused.body.error.details.field).toBe('webhook_url');
      expectError(await api.call('POST', '/api/v1/monitoring/alerts/rules', { token: admin, body: { ...body, id: undefined, webhook_url: target } }), 422, 'VALIDATION_ERROR');
    }
    expect((await api.call('GET', `/api/v1/monitoring/alerts/rules/${body.id}`, { token: admin })).body.data).toMatchObject({ threshold: 85, webhook_url: null });
    expectError(await api.call('PUT', `/api/v1/monitoring/alerts/rules/${body.id}`, { token: manager.token, body: { webhook_url: hookUrl, webhook_allow_private: true } }), 403, 'INSUFFICIENT_PERMISSIONS');
    const noUrl = await api.call('PUT', `/api/v1/monitoring/alerts/rules/${body.id}`, { token: admin, body: { webhook_allow_private: true } });
    expectError(noUrl, 422, 'VALIDATION_ERROR');
    expect(noUrl.body.error.details.field).toBe('webhook_allow_private');
    const changed = await api.call('PUT', `/api/v1/monitoring/alerts/rules/${body.id}`, { token: admin, body: { threshold: 90, enabled: false, webhook_url: hookUrl, webhook_allow_private: true } });
    expect(changed.status).toBe(200);
    expect(changed.body.data).toMatchObject({ threshold: 90, enabled: false, name: body.name, webhook_url: hookUrl, webhook_allow_private: true, webhook_secret: expect.stringMatching(/^whsec_/) });
    expect((await api.call('GET', `/api/v1/monitoring/alerts/rules/${body.id}`, { token: admin })).body.data.webhook_secret).toBeUndefined();
    // The rule's webhook is an endpoint of the webhooks domain, changed through the rule only.
    const endpointId = changed.body.data.webhook_endpoint_id;
    const endpoint = await api.call('GET', `/api/v1/webhooks/${endpointId}`, { token: admin });
    expect(endpoint.body.data).toMatchObject({ url: hookUrl, alert_rule_id: body.id, event_types: ['alert.fired'], allow_private: true, enabled: true });
    const managed = await api.call('PUT', `/api/v1/webhooks/${endpointId}`, { token: admin, body: { url: 'https://example.com/elsewhere' } });
    expectError(managed, 409, 'CONFLICT');
    expect(managed.body.error.message).toContain(body.id);
    expectError(await api.call('DELETE', `/api/v1/webhooks/${endpointId}`, { token: admin }), 409, 'CONFLICT');
    // The admin's leave for a private target went with the URL it was given for: a manager's new private URL is refused.
    const repointed = await api.call('PUT', `/api/v1/monitoring/alerts/rules/${body.id}`, { token: manager.token, body: { webhook_url: `${hookUrl}/moved` } });
    expectError(repointed, 422, 'VALIDATION_ERROR');
    expect(repointed.body.error.details.field).toBe('webhook_url');
    // A new public URL gets a new secret (and no private leave); removed, the endpoint goes.
    const moved = await api.call('PUT', `/api/v1/monitoring/alerts/rules/${body.id}`, { token: manager.token, body: { webhook_url: 'https://hooks.example.test/moved' } });
    expect(moved.body.data).toMatchObject({ webhook_url: 'https://hooks.example.test/moved', webhook_allow_private: false, webhook_endpoint_id: endpointId, webhook_secret: expect.stringMatching(/^whsec_/) });
    expect(moved.body.data.webhook_secret).not.toBe(changed.body.data.webhook_secret);
    const dropped = await api.call('PUT', `/api/v1/monitoring/alerts/rules/${body.id}`, { token: manager.token, body: { webhook_url: null } });
    expect(dropped.body.data).toMatchObject({ webhook_url: null, webhook_endpoint_id: null, webhook_allow_private: false });
    expectError(await api.call('GET', `/api/v1/webhooks/${endpointId}`, { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('PUT', `/api/v1/monitoring/alerts/rules/${body.id}`, { token: manager.token, body: {} }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('PUT', `/api/v1/monitoring/alerts/rules/${body.id}`, { token: manager.token, body: { condition: '~' } }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('PUT', `/api/v1/monitoring/alerts/rules/${body.id}`, { token: viewer.token, body: { threshold: 1 } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('PUT', '/api/v1/monitoring/alerts/rules/nope', { token: manager.token, body: { threshold: 1 } }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('PUT', `/api/v1/monitoring/alerts/rules/${body.id}`, { body: { threshold: 1 } }), 401, 'INVALID_CREDENTIALS');

    expectError(await api.call('DELETE', `/api/v1/monitoring/alerts/rules/${body.id}`, { token: viewer.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('DELETE', `/api/v1/monitoring/alerts/rules/${body.id}`), 401, 'INVALID_CREDENTIALS');
    expect((await api.call('DELETE', `/api/v1/monitoring/alerts/rules/${body.id}`, { token: manager.token })).body.data).toEqual({ id: body.id, deleted: true });
    expectError(await api.call('DELETE', `/api/v1/monitoring/alerts/rules/${body.id}`, { token: manager.token }), 404, 'RESOURCE_NOT_FOUND');

    expectError(await api.call('GET', '/api/v1/monitoring/alerts/active', { token: user.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    expectError(await api.call('GET', '/api/v1/monitoring/alerts/active'), 401, 'INVALID_CREDENTIALS');
    expectError(await api.call('GET', '/api/v1/monitoring/alerts/nope_1', { token: viewer.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('GET', '/api/v1/monitoring/alerts?status=burning', { token: viewer.token }), 422, 'VALIDATION_ERROR');
  });

  it('fires once, mails once, resolves when the condition clears, and fires again no sooner than the cooldown', async () => {
    const host = await testHost(api.deps.knex);
    const email = `oncall-${crypto.randomBytes(3).toString('hex')}@example.test`;
    const ruleId = `cpu_high_${crypto.randomBytes(3).toString('hex')}`;
    const created = await api.call('POST', '/api/v1/monitoring/alerts/rules', {
      token: admin, body: { id: ruleId, name: 'CPU使用率过高', description: 'CPU使用率超过80%', metric_name: 'system.cpu.usage', condition: '>', threshold: 80, level: 'warning', cooldown_minutes: 0.1, host: host.name, notify_emails: [email] },
    });
    expect(created.status).toBe(201);
    const live = liveClient(wsUrl(api.url, `/api/v1/ws/monitoring/alerts?token=${admin}`));
    await live.next((m) => m.type === 'connected');
    const mails = () => smtp.received.filter((m) => m.to === email);

    await push(host.name, { 'system.cpu.usage': 85.2 });
    const first = await evaluate(ruleId);
    expect(first.fired).toHaveLength(1);
    const [alertId] = first.fired;
    expect(alertId).toMatch(new RegExp(`^${ruleId}_\\d{8}_\\d{6}_host-`));
    const active = (await api.call('GET', '/api/v1/monitoring/alerts/active', { token: viewer.token })).body.data;
    expect(active.find((a: { id: string }) => a.id === alertId)).toMatchObject({
      id: alertId, name: 'CPU使用率过高', description: 'CPU使用率超过80%', level: 'warning', status: 'active', metric_name: 'system.cpu.usage', threshold_value: 80, current_value: 85.2, host: host.name,
    });
    const pushed = await live.next((m) => m.type === 'monitoring_alert' && m.data.id === alertId);
    expect(pushed.data).toMatchObject({ status: 'active', current_value: 85.2, threshold_value: 80 });
    await eventually(async () => mails().length === 1, 30_000, 'the alert mail');
    expect(mails()[0].body).toContain(`Alert ${alertId} fired`);

    // Still above: the same alert, its value updated, no second mail.
    await push(host.name, { 'system.cpu.usage': 90 });
    const again = await evaluate(ruleId);
    expect(again.fired).toEqual([]);
    expect((await alertsOf(ruleId)).map((a) => [a.status, a.current_value])).toEqual([['active', 90]]);

    // Below: resolved, announced live.
    await push(host.name, { 'system.cpu.usage': 40 });
    expect((await evaluate(ruleId)).resolved).toContain(alertId);
    expect((await alertsOf(ruleId)).map((a) => [a.status, a.resolve_reason])).toEqual([['resolved', 'condition cleared']]);
    await live.next((m) => m.type === 'monitoring_alert' && m.data.id === alertId && m.data.status === 'resolved');
    expect((await api.call('GET', '/api/v1/monitoring/alerts/active', { token: viewer.token })).body.data.some((a: { id: string }) => a.id === alertId)).toBe(false);

    // Above again within the cooldown (6 s after the firing): held back.
    await push(host.name, { 'system.cpu.usage': 95 });
    const held = await evaluate(ruleId);
    expect(held.fired).toEqual([]);
    expect(held.suppressed).toBeGreaterThanOrEqual(1);
    // After the cooldown: a new firing and its own mail.
    const firedAt = new Date((await api.deps.knex('alerts').where({ id: alertId }).first()).fired_at).getTime();
    await new Promise((r) => setTimeout(r, Math.max(0, firedAt + 6_500 - Date.now())));
    await push(host.name, { 'system.cpu.usage': 95 });
    const second = await evaluate(ruleId);
    expect(second.fired).toHaveLength(1);
    expect(second.fired[0]).not.toBe(alertId);
    await eventually(async () => mails().length === 2, 30_000, 'the second firing\'s mail');
    await evaluate(ruleId);
    expect(mails()).toHaveLength(2);
    expect(await api.deps.knex('alert_deliveries').whereIn('alert_id', [alertId, second.fired[0]]).pluck('status')).toEqual(['sent', 'sent']);

    // Deleting the rule resolves what it raised.
    await api.call('DELETE', `/api/v1/monitoring/alerts/rules/${ruleId}`, { token: admin });
    await live.next((m) => m.type === 'monitoring_alert' && m.data.id === second.fired[0] && m.data.status === 'resolved');
    live.close();
  });

  it('posts one signed webhook per firing (Standard Webhooks)', async () => {
    const host = await testHost(api.deps.knex);
    const created = await api.call('POST', '/api/v1/monitoring/alerts/rules', {
      token: admin, body: { name: 'Disk full', metric_name: 'system.disk.usage', condition: '>=', threshold: 95, level: 'critical', host: host.name, notify_emails: ['disk@example.test'], webhook_url: hookUrl, webhook_allow_private: true },
    });
    const { id: ruleId, webhook_secret: secret, webhook_endpoint_id: endpointId } = created.body.data;
    expect(ruleId).toMatch(/^rule_/);
    // A webhook endpoint subscribed to alert events (the webhooks domain) hears of the firing too.
    const subscribed = await api.call('POST', '/api/v1/webhooks', { token: admin, body: { url: `${hookUrl}/subscribed`, allow_private: true, event_types: ['alert.fired'] } });
    expect(subscribed.status).toBe(201);
    await push(host.name, { 'system.disk.usage': 97 });
    const [alertId] = (await evaluate(ruleId)).fired;
    await evaluate(ruleId);
    // Delivered by the webhooks domain's workflow: once, signed, its attempt logged on the rule's endpoint.
    const [delivery] = await eventually(async () => {
      const list = (await api.call('GET', `/api/v1/webhooks/${endpointId}/deliveries`, { token: admin })).body.data.deliveries as Array<{ id: string; status: string; event_id: string; attempt_log: unknown[] }>;
      return list.some((d) => d.status === 'succeeded') ? list : undefined;
    }, 30_000, 'the rule\'s delivery');
    expect(delivery).toMatchObject({ event_id: `alert:${alertId}:fired`, status: 'succeeded', attempts: 1, attempt_log: [{ attempt: 1, status_code: 204 }] });
    await evaluate(ruleId);
    const mine = hooks.filter((h) => h.path === '/hook' && h.body.includes(alertId));
    expect(mine).toHaveLength(1);
    const { headers, body } = mine[0];
    expect(headers['webhook-id']).toBe(delivery.id);
    expect(new Webhook(secret).verify(body, headers as Record<string, string>)).toMatchObject({ type: 'alert.fired', data: { id: alertId, level: 'critical', current_value: 97 } });
    // The rule's own endpoint hears of its rule only; the subscribed one hears of the firing once too.
    expect(hooks.filter((h) => h.path === '/hook/subscribed' && h.body.includes(alertId)).length).toBeLessThanOrEqual(1);
    const event = await eventually(async () => hooks.find((h) => h.path === '/hook/subscribed' && h.body.includes(alertId)), 30_000, 'the alert.fired event');
    expect(new Webhook(subscribed.body.data.secret).verify(event.body, event.headers as Record<string, string>)).toMatchObject({ type: 'alert.fired', data: { id: alertId, level: 'critical' } });
    await api.call('DELETE', `/api/v1/webhooks/${subscribed.body.data.id}`, { token: admin });
    await api.call('DELETE', `/api/v1/monitoring/alerts/rules/${ruleId}`, { token: admin });
  });

  it('is evaluated by a Temporal Schedule', async () => {
    const host = await testHost(api.deps.knex);
    const created = await api.call('POST', '/api/v1/monitoring/alerts/rules', {
      token: admin, body: { name: 'Load', metric_name: 'system.load.1', condition: '>', threshold: 10, level: 'info', host: host.name, notify_emails: ['load@example.test'] },
    });
    const ruleId = created.body.data.id;
    await push(host.name, { 'system.load.1': 12 });
    await ensureMonitoringSchedules(api.deps.temporal, { taskQueue: queue, monitoring: { ...api.config.monitoring, evaluationSeconds: 1 } }, `-${queue}`);
    const fired = await eventually(async () => (await alertsOf(ruleId)).find((a) => a.status === 'active'), 30_000, 'a firing by the schedule');
    expect(fired.current_value).toBe(12);
    await removeMonitoringSchedules(api.deps.temporal, `-${queue}`);
    await api.call('DELETE', `/api/v1/monitoring/alerts/rules/${ruleId}`, { token: admin });
  });
});
