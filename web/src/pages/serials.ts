import { useState } from 'preact/hooks';
import { html } from '../html';
import { t } from '../i18n';
import { session } from '../session';
import { useApi, Table, show } from '../ui';
import { useForm, SecretOnce } from '../form';

interface Batch { id: number; days: number; count: number; used: number; value_cents: number; note: string | null; distributor_id: number | null; created_at: string | null }

/** Serial-code batches (operators): generate one (its codes shown once, to copy or download as text), and the batches with how many codes are used. */
export function SerialBatches() {
  const list = useApi<{ batches: Batch[] }>('/api/v1/rentals/serial-batches');
  const form = useForm('batch');
  const [made, setMade] = useState<{ batch: Batch; codes: string[] } | null>(null);
  const create = async (e: Event) => {
    e.preventDefault();
    const el = e.target as HTMLFormElement;
    const data = Object.fromEntries(new FormData(el)) as Record<string, string>;
    const body: Record<string, unknown> = { days: Number(data.days), count: Number(data.count) };
    if (data.value_cents) body.value_cents = Number(data.value_cents);
    if (data.note?.trim()) body.note = data.note.trim();
    const answer = await form.run(() => session.request<{ batch: Batch; codes: string[] }>('POST', '/api/v1/rentals/serial-batches', body));
    if (answer) { setMade(answer); el.reset(); list.reload(); }
  };
  return html`<section><h1>${t('serialBatches')}</h1>
    <form class="create" onSubmit=${create} noValidate aria-label=${t('newBatch')}><fieldset><legend>${t('newBatch')}</legend>
      ${form.input('days', t('days'), { type: 'number', min: 1, max: 3650, required: true, inputmode: 'numeric' })}
      ${form.input('count', t('count'), { type: 'number', min: 1, max: 1000, required: true, inputmode: 'numeric' })}
      ${form.input('value_cents', t('valueCents'), { type: 'number', min: 0, inputmode: 'numeric' })}
      ${form.input('note', t('note'), { maxlength: 255, autocomplete: 'off' })}
      <button type="submit">${t('create')}</button>
    </fieldset></form>
    ${form.failureView}
    ${made ? html`<${SecretOnce} title=${`${t('batchCodes')} ${made.batch.id}`} secret=${made.codes.join('\n')} filename=${`serial-codes-${made.batch.id}.txt`} onClose=${() => setMade(null)} />` : null}
    <${Table} caption=${t('serialBatches')} rows=${list.data?.batches} error=${list.error} loading=${list.loading} columns=${[
      { key: 'id', label: 'ID' }, { key: 'days', label: 'days' }, { key: 'count', label: 'count' }, { key: 'used', label: 'used' },
      { key: 'value_cents', label: 'valueCents' }, { key: 'note', label: 'note' }, { key: 'created_at', label: 'created', render: (b: Batch) => show(b.created_at) },
    ]} /></section>`;
}
