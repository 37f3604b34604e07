import { useEffect, useRef } from 'preact/hooks';
import { html } from '../html';
import { t } from '../i18n';
import { session } from '../session';
import { useApi, Table, show } from '../ui';
import { useForm } from '../form';
import type { Endpoint } from './webhooks';

interface Attempt { attempt: number; at: string | null; status_code: number | null; response_excerpt: string | null; error: string | null; duration_ms: number }
interface Delivery { id: string; event_type: string; status: string; attempts: number; last_status_code: number | null; last_error: string | null; created_at: string | null; delivered_at: string | null; attempt_log: Attempt[] }

const answerOf = (a: Attempt) => [a.status_code ? `HTTP ${a.status_code}` : null, a.error, a.response_excerpt ? `“${a.response_excerpt}”` : null].filter(Boolean).join(' — ');

/**
 * An endpoint's latest deliveries with each attempt's answer, followed while any is pending (`onSettled` then: the
 * endpoint may have been disabled by its failures); each may be replayed.
 */
export function Deliveries({ endpoint, sent, onClose, onSettled }: { endpoint: Endpoint; sent: number; onClose: () => void; onSettled: () => void }) {
  const list = useApi<{ deliveries: Delivery[] }>(`/api/v1/webhooks/${endpoint.id}/deliveries`, [sent]);
  const form = useForm(`deliveries-${endpoint.id}`);
  const pending = list.data?.deliveries.some((d) => d.status === 'pending');
  const wasPending = useRef(false);
  useEffect(() => {
    if (list.loading) return undefined;
    if (wasPending.current && !pending) onSettled();
    wasPending.current = Boolean(pending);
    if (!pending) return undefined;
    const timer = setTimeout(list.reload, 1000);
    return () => clearTimeout(timer);
  }, [list.data, list.loading]);
  const replay = async (d: Delivery) => {
    if (await form.run(() => session.request('POST', `/api/v1/webhooks/${endpoint.id}/deliveries/${d.id}/replay`))) { list.reload(); onSettled(); }
  };
  const title = `${t('deliveries')}: ${endpoint.url}`;
  return html`<div class="config" role="region" aria-label=${title}>
    <h2>${title}</h2>
    <div class="actions"><button type="button" onClick=${list.reload}>${t('refresh')}</button><button type="button" onClick=${onClose}>${t('close')}</button></div>
    ${form.failureView}
    <${Table} caption=${title} rows=${list.data?.deliveries} error=${list.error} loading=${list.loading} columns=${[
      { key: 'id', label: 'ID', render: (d: Delivery) => html`<code>${d.id}</code>` }, { key: 'event_type', label: 'type' },
      { key: 'status', label: 'status', render: (d: Delivery) => html`<span class="badge ${d.status}">${d.status}</span>` },
      { key: 'created_at', label: 'created', render: (d: Delivery) => show(d.created_at) },
      { key: 'attempt_log', label: 'attempts', render: (d: Delivery) => (d.attempt_log.length
        ? html`<ol class="attempts">${d.attempt_log.map((a) => html`<li>${show(a.at)} · ${answerOf(a)} · ${a.duration_ms} ms</li>`)}</ol>` : '—') },
      { key: 'actions', label: 'actions', render: (d: Delivery) => html`<button type="button" aria-label=${`${t('replay')} ${d.id}`} disabled=${!endpoint.enabled} onClick=${() => replay(d)}>${t('replay')}</button>` },
    ]} /></div>`;
}
