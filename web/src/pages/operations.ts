import { useState } from 'preact/hooks';
import { html } from '../html';
import { t } from '../i18n';
import { useApi, Table } from '../ui';
import { OperationProgress } from '../operation';

interface Op { id: string; type: string; status: string; progress: { percent: number; step: string | null }; created_at: string; resource: { type: string; name: string | null; id: string } }

export function Operations() {
  const [status, setStatus] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const list = useApi<{ operations: Op[] }>(`/api/v1/operations?size=50${status ? `&status=${status}` : ''}`);
  return html`<section><h1>${t('operations')}</h1>
    <label>${t('status')} <select value=${status} onChange=${(e: Event) => setStatus((e.target as HTMLSelectElement).value)}>
      <option value="">—</option>${['pending', 'running', 'succeeded', 'failed', 'canceled'].map((s) => html`<option value=${s}>${s}</option>`)}
    </select></label>
    <button type="button" onClick=${list.reload}>${t('refresh')}</button>
    ${open ? html`<${OperationProgress} key=${open} id=${open} onDone=${() => list.reload()} />` : null}
    <${Table} caption=${t('operations')} rows=${list.data?.operations} error=${list.error} loading=${list.loading} columns=${[
      { key: 'type', label: 'type' }, { key: 'status', label: 'status', render: (o: Op) => html`<span class="badge ${o.status}">${o.status}</span>` },
      { key: 'resource', label: 'resource', render: (o: Op) => `${o.resource.type}/${o.resource.name ?? o.resource.id}` },
      { key: 'progress', label: 'progress', render: (o: Op) => `${o.progress.percent}% ${o.progress.step ?? ''}` }, { key: 'created_at', label: 'created' },
      { key: 'id', label: 'actions', render: (o: Op) => html`<button type="button" onClick=${() => setOpen(o.id)}>${t('progress')}</button>` },
    ]} /></section>`;
}
