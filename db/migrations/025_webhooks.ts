import type { Knex } from 'knex';

/**
 * One store of webhook endpoints: an alert rule's `webhook_url` becomes an endpoint of the webhooks domain that the
 * rule manages (`alert_rule_id`), delivered by the same workflow, signed, retried and logged like every other.
 * Rules with a webhook keep their URL and secret (already sealed: it moves as is); they were set by operators before
 * targets were checked, so they keep `allow_private`.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('webhook_endpoints', (t) => {
    t.string('alert_rule_id', 64).nullable().unique().references('alert_rules.id').onDelete('CASCADE');
    t.integer('user_id').nullable().alter();
  });
  const rules = await knex('alert_rules as r').leftJoin('users as u', 'u.id', 'r.created_by')
    .whereNotNull('r.webhook_url').whereNotNull('r.webhook_secret_sealed').select('r.id', 'r.webhook_url', 'r.webhook_secret_sealed', 'u.id as user_id');
  for (const r of rules) {
    await knex('webhook_endpoints').insert({
      user_id: r.user_id ?? null, url: r.webhook_url, description: `Alert rule ${r.id}`, event_types: ['alert.fired'], alert_rule_id: r.id,
      allow_private: true, secrets_sealed: r.webhook_secret_sealed,
    });
  }
  await knex('alert_deliveries').where({ channel: 'webhook', status: 'pending' }).update({ status: 'skipped', last_error: 'moved to the webhooks domain' });
  await knex.schema.alterTable('alert_rules', (t) => {
    t.dropColumn('webhook_url');
    t.dropColumn('webhook_secret_sealed');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('alert_rules', (t) => {
    t.text('webhook_url');
    t.text('webhook_secret_sealed');
  });
  await knex.raw('update alert_rules r set webhook_url = e.url from webhook_endpoints e where e.alert_rule_id = r.id');
  await knex('webhook_endpoints').whereNotNull('alert_rule_id').delete();
  await knex('webhook_endpoints').whereNull('user_id').delete();
  await knex.schema.alterTable('webhook_endpoints', (t) => {
    t.dropColumn('alert_rule_id');
    t.integer('user_id').notNullable().alter();
  });
}
