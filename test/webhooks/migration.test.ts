import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { Webhook } from 'standardwebhooks';
import { createKnex } from '../../db/knex';
import * as oneStore from '../../db/migrations/025_webhooks';
import { ownDatabase } from '../support/faults';
import { seal } from '../../shared/platform/crypto';
import { loadConfig } from '../../shared/platform/config';
import { validSecrets } from '../../shared/webhooks/secrets';

/** Migration 025 on a database of its own: alert rules' webhooks made before it move into the webhooks domain's store. */
describe('migration 025 (one store of webhook endpoints)', () => {
  let knex: Knex;
  const { masterKey } = loadConfig();
  beforeAll(async () => { knex = createKnex(await ownDatabase('webhooks_025'), 2); });
  afterAll(async () => { await knex?.destroy(); });

  it('moves a rule\'s webhook_url and its sealed secret to an endpoint that signs as before, and rolls back', async () => {
    await oneStore.down(knex);
    expect(await knex.schema.hasColumn('alert_rules', 'webhook_url')).toBe(true);
    const [owner] = await knex('users').insert({ username: 'ops', email: 'ops@example.test', password_hash: 'x', role: 'manager' }).returning('id');
    const secret = `whsec_${crypto.randomBytes(24).toString('base64')}`;
    const rule = { name: 'r', metric_name: 'system.cpu.usage', condition: '>', threshold: 1, level: 'info' };
    await knex('alert_rules').insert([
      { ...rule, id: 'with_hook', webhook_url: 'http://10.0.0.5/hook', webhook_secret_sealed: seal(secret, masterKey), created_by: owner.id },
      { ...rule, id: 'no_hook' },
    ]);

    await oneStore.up(knex);
    expect(await knex.schema.hasColumn('alert_rules', 'webhook_url')).toBe(false);
    const endpoints = await knex('webhook_endpoints').whereNotNull('alert_rule_id');
    expect(endpoints).toEqual([expect.objectContaining({ alert_rule_id: 'with_hook', url: 'http://10.0.0.5/hook', user_id: owner.id, allow_private: true, event_types: ['alert.fired'], enabled: true })]);
    const [kept] = validSecrets(endpoints[0].secrets_sealed, masterKey);
    expect(kept).toEqual({ secret, expires_at: null });
    // A receiver that trusted the rule's secret verifies deliveries signed from the endpoint.
    const body = JSON.stringify({ type: 'alert.fired', data: {} });
    const at = new Date();
    const headers = { 'webhook-id': 'msg_x', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(kept.secret).sign('msg_x', at, body) };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));

    await oneStore.down(knex);
    expect(await knex('alert_rules').where({ id: 'with_hook' }).first('webhook_url')).toEqual({ webhook_url: 'http://10.0.0.5/hook' });
    await oneStore.up(knex);
  });
});
