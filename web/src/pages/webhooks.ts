import { useState } from 'preact/hooks';
import { html } from '../html';
import { t } from '../i18n';
import { session } from '../session';
import { useApi, Table, show } from '../ui';
import { useForm, confirmed, SecretOnce } from '../form';
import { Deliveries } from './webhook-deliveries';

export interface Endpoint {
  id: number; alert_rule_id: string | null; url: string; description: string | null; event_types: string[];
  filters: { resource_type: string | null; resource_id: string | null; operation_type: string | null };
  enabled: boolean; disabled_reason: string | null; allow_private: boolean; consecutive_failures: number; secrets: Array<{ expires_at: string | null }>;
}

/** What an endpoint may subscribe to (shared/webhooks/events.ts; none ticked: every type its owner may see). */
const EVENT_TYPES = ['operation.succeeded', 'operation.failed', 'operation.canceled', 'alert.fired', 'alert.resolved', 'webhook.test'];
const FILTERS = ['resource_type', 'resource_id', 'operation_type'] as const;

/**
 * The user's webhook endpoints: subscribe a URL (its signing secret shown once), enable or disable, rotate the secret,
 * send a test, the delivery log (each attempt's answer) with replay, delete. An alert rule's own endpoint takes its URL
 * and filters from the rule: it offers everything but deletion, which the API refuses.
 */
export function Webhooks() {
  const list = useApi<{ endpoints: Endpoint[] }>('/api/v1/webhooks');
  const form = useForm('webhook');
  const [secret, setSecret] = useState<{ title: string; secret: string; note?: string } | null>(null);
  const [openId, setOpen] = useState<number | null>(null);
  const open = list.data?.endpoints.find((ep) => ep.id === openId) ?? null;
  const [sent, setSent] = useState(0);
  const create = async (e: Event) => {
    e.preventDefault();
    const el = e.target as HTMLFormElement;
    const data = new FormData(el);
    const body: Record<string, unknown> = { url: String(data.get('url')).trim(), event_types: data.getAll('event_types') };
    const description = String(data.get('description') ?? '').trim();
    if (description) body.description = description;
    for (const f of FILTERS) { const v = String(data.get(f) ?? '').trim(); if (v) body[f] = v; }
    if (data.get('allow_private')) body.allow_private = true;
    const made = await form.run(() => session.request<Endpoint & { secret: string }>('POST', '/api/v1/webhooks', body));
    if (made) { setSecret({ title: `${t('signingSecret')} ${made.url}`, secret: made.secret }); el.reset(); list.reload(); }
  };
  const act = async (send: () => Promise<unknown>) => { await form.run(send); list.reload(); };
  const toggle = (ep: Endpoint) => act(() => session.request('PUT', `/api/v1/webhooks/${ep.id}`, { enabled: !ep.enabled }));
  const rotate = async (ep: Endpoint) => {
    const r = await form.run(() => session.request<{ secret: string; previous_valid_until: string | null }>('POST', `/api/v1/webhooks/${ep.id}/rotate-secret`));
    if (r) setSecret({ title: `${t('signingSecret')} ${ep.url}`, secret: r.secret, note: r.previous_valid_until ? `${t('previousValidUntil')} ${show(r.previous_valid_until)}` : undefined });
  };
  const test = async (ep: Endpoint) => {
    if (await form.run(() => session.request('POST', `/api/v1/webhooks/${ep.id}/test`))) { setOpen(ep.id); setSent((n) => n + 1); }
  };
  const remove = (ep: Endpoint) => {
    if (!confirmed(ep.url)) return;
    if (open?.id === ep.id) setOpen(null);
    void act(() => session.request('DELETE', `/api/v1/webhooks/${ep.id}`));
  };
  const events = (ep: Endpoint) => [ep.event_types.length ? ep.event_types.join(', ') : t('allEvents'),
    ...FILTERS.filter((f) => ep.filters[f]).map((f) => `${f}=${ep.filters[f]}`)].join('; ');
  return html`<section><h1>${t('webhooks')}</h1>
    <form class="create" onSubmit=${create} noValidate aria-label=${t('newWebhook')}><fieldset><legend>${t('newWebhook')}</legend>
      ${form.input('url', 'URL', { type: 'url', required: true, size: 40, autocomplete: 'off', placeholder: 'https://hooks.example.com/idcflow' })}
      ${form.input('description', t('description'), { maxlength: 200 })}
      ${form.field('event_types', t('eventTypes'), (a) => html`<div class="choices" role="group" id=${a.id} aria-label=${t('eventTypes')} aria-invalid=${a['aria-invalid']} aria-describedby=${a['aria-describedby']}>
        ${EVENT_TYPES.map((ev) => html`<label class="inline"><input type="checkbox" name="event_types" value=${ev} /> ${ev}</label>`)}</div>`)}
      ${form.input('resource_type', t('filterResourceType'), { autocomplete: 'off', placeholder: 'instance' })}
      ${form.input('resource_id', t('filterResourceId'), { autocomplete: 'off' })}
      ${form.input('operation_type', t('filterOperationType'), { autocomplete: 'off', placeholder: 'instance.create' })}
      ${session.isAdmin ? form.field('allow_private', t('allowPrivate'), (a) => html`<input type="checkbox" value="1" ...${a} />`) : null}
      <button type="submit">${t('create')}</button>
    </fieldset></form>
    ${form.failureView}
    ${secret ? html`<${SecretOnce} title=${secret.title} secret=${secret.secret} onClose=${() => setSecret(null)} />${secret.note ? html`<p role="note">${secret.note}</p>` : null}` : null}
    <${Table} caption=${t('webhooks')} rows=${list.data?.endpoints} error=${list.error} loading=${list.loading} columns=${[
      { key: 'url', label: 'URL', render: (ep: Endpoint) => html`<div class="wrap"><code>${ep.url}</code>${ep.description ? html`<div>${ep.description}</div>` : null}</div>` },
      { key: 'event_types', label: 'eventTypes', render: events },
      { key: 'alert_rule_id', label: 'owner', render: (ep: Endpoint) => (ep.alert_rule_id ? html`<span class="badge">${t('alertRule')} ${ep.alert_rule_id}</span>` : t('you')) },
      { key: 'enabled', label: 'status', render: (ep: Endpoint) => html`<span class="badge ${ep.enabled ? 'succeeded' : 'failed'}" title=${ep.disabled_reason ?? ''}>${t(ep.enabled ? 'active' : 'disabled')}</span>${ep.disabled_reason ? html`<div class="wrap">${ep.disabled_reason}</div>` : null}` },
      { key: 'consecutive_failures', label: 'failures' },
      { key: 'id', label: 'actions', render: (ep: Endpoint) => html`<div class="actions">
        <button type="button" aria-label=${`${t(ep.enabled ? 'disable' : 'enable')} ${ep.url}`} onClick=${() => toggle(ep)}>${t(ep.enabled ? 'disable' : 'enable')}</button>
        <button type="button" aria-label=${`${t('rotateSecret')} ${ep.url}`} onClick=${() => rotate(ep)}>${t('rotateSecret')}</button>
        <button type="button" aria-label=${`${t('sendTest')} ${ep.url}`} disabled=${!ep.enabled} onClick=${() => test(ep)}>${t('sendTest')}</button>
        <button type="button" aria-label=${`${t('deliveries')} ${ep.url}`} aria-expanded=${open?.id === ep.id} onClick=${() => setOpen(open?.id === ep.id ? null : ep.id)}>${t('deliveries')}</button>
        ${ep.alert_rule_id ? null : html`<button type="button" class="danger" aria-label=${`${t('delete')} ${ep.url}`} onClick=${() => remove(ep)}>${t('delete')}</button>`}</div>` },
    ]} />
    ${open ? html`<${Deliveries} key=${open.id} endpoint=${open} sent=${sent} onClose=${() => setOpen(null)} onSettled=${list.reload} />` : null}</section>`;
}
