import type { Knex } from 'knex';
import { isAdmin, requirePermission } from '../platform/auth/principal';
import type { Caller } from '../platform/caller';
import { validationError } from '../../shared/platform/errors';
import { newWebhookSecret, sealSecrets } from '../../shared/webhooks/secrets';
import { checkWebhookTarget } from '../webhooks/targets';
import {
  deleteWebhookEndpoint, insertRuleWebhookEndpoint, ruleWebhookEndpoint, updateWebhookEndpoint,
} from '../../db/queries/webhooks/endpoints';
import { ADMIN_VIEWER } from '../../db/queries/platform/scope';

export interface RuleWebhookChange { url?: string | null; allowPrivate?: boolean }

/**
 * Checks a rule's webhook change before anything is written: private targets only where an admin allows them, the
 * target held to the webhooks domain's SSRF checks (a 422 naming `webhook_url`). Nothing to change: `null`.
 */
export async function checkRuleWebhook(knex: Knex, caller: Caller, ruleId: string | null, change: RuleWebhookChange) {
  if (change.url === undefined && change.allowPrivate === undefined) return null;
  if (change.allowPrivate !== undefined) requirePermission(caller.principal, 'admin');
  const existing = ruleId ? await ruleWebhookEndpoint(knex, ruleId) : undefined;
  if (change.url === null) return { existing, url: null, allowPrivate: false };
  const url: string | undefined = change.url ?? existing?.url;
  if (!url) throw validationError([{ field: 'webhook_allow_private', location: 'body', message: 'applies to a webhook_url: give one' }]);
  // An admin's leave to target private addresses was given for one URL: a new URL from anyone else goes without it.
  const keeps = change.url === undefined || isAdmin(caller.principal);
  const allowPrivate = change.allowPrivate ?? (keeps ? existing?.allow_private ?? false : false);
  await checkWebhookTarget(url, allowPrivate, 'webhook_url');
  return { existing, url, allowPrivate };
}

/**
 * Writes a checked change in the rule's transaction: a new endpoint (subscribed to `alert.fired`, owned by whoever set
 * it), a new URL (a new secret, and the endpoint enabled again), or none. Returns the new secret, shown once.
 */
export async function applyRuleWebhook(trx: Knex, masterKey: Buffer, caller: Caller, ruleId: string, checked: Awaited<ReturnType<typeof checkRuleWebhook>>): Promise<string | undefined> {
  if (!checked) return undefined;
  const { existing, url, allowPrivate } = checked;
  if (url === null) {
    if (existing) await deleteWebhookEndpoint(trx, ADMIN_VIEWER, existing.id);
    return undefined;
  }
  const secret = existing && existing.url === url ? undefined : newWebhookSecret();
  const fresh = secret ? { secrets_sealed: sealSecrets([{ secret, expires_at: null }], masterKey), enabled: true, disabled_reason: null, consecutive_failures: 0 } : {};
  if (existing) {
    await updateWebhookEndpoint(trx, ADMIN_VIEWER, existing.id, { url, allow_private: allowPrivate, ...fresh });
  } else {
    await insertRuleWebhookEndpoint(trx, {
      user_id: caller.principal.userId, alert_rule_id: ruleId, url, allow_private: allowPrivate, description: `Alert rule ${ruleId}`, event_types: ['alert.fired'], ...fresh,
    });
  }
  return secret;
}
