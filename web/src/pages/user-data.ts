import { useState } from 'preact/hooks';
import { unwrap } from '../../../client';
import { html } from '../html';
import { t } from '../i18n';
import { session } from '../session';
import { useApi, Table, show } from '../ui';
import { useForm, confirmed } from '../form';

interface Record_ { key: string; value: unknown; version: number; etag: string; updated_at: string | null }

/**
 * The user's own data records (JSON values by key): create (If-None-Match: * — an existing key is not overwritten),
 * edit (If-Match: the version shown — a change made meanwhile is refused, not lost) and delete after a confirmation.
 */
export function UserData() {
  const list = useApi<{ records: Record_[] }>('/api/v1/user-data');
  const form = useForm('record');
  const [editing, setEditing] = useState<Record_ | null>(null);
  const [draft, setDraft] = useState({ key: '', value: '' });
  const edit = (r: Record_) => { setEditing(r); setDraft({ key: r.key, value: JSON.stringify(r.value, null, 2) }); form.setErrors({}); };
  const reset = () => { setEditing(null); setDraft({ key: '', value: '' }); };
  const save = async (e: Event) => {
    e.preventDefault();
    let value: unknown;
    try { value = JSON.parse(draft.value); } catch { form.setErrors({ value: t('invalidJson') }); return; }
    const key = draft.key.trim();
    const headers = editing ? { 'If-Match': editing.etag } : { 'If-None-Match': '*' };
    const saved = await form.run(async () => unwrap(await session.client.api.PUT('/api/v1/user-data/{key}', { params: { path: { key } }, body: { value }, headers })));
    if (saved) reset();
    list.reload(); // saved, or refused: either way the list shows the records as they now are
  };
  const remove = (r: Record_) => {
    if (!confirmed(r.key)) return;
    void form.run(async () => unwrap(await session.client.api.DELETE('/api/v1/user-data/{key}', { params: { path: { key: r.key } }, headers: { 'If-Match': r.etag } }))).then(() => list.reload());
  };
  const legend = editing ? `${t('editRecord')} ${editing.key}` : t('newRecord');
  const on = (name: 'key' | 'value') => (e: Event) => { const v = (e.target as HTMLInputElement).value; setDraft((d) => ({ ...d, [name]: v })); };
  return html`<section><h1>${t('myData')}</h1>
    <form class="create" onSubmit=${save} noValidate aria-label=${legend}><fieldset><legend>${legend}</legend>
      ${form.input('key', t('key'), { value: draft.key, onInput: on('key'), readonly: Boolean(editing), maxlength: 128, required: true, autocomplete: 'off' })}
      ${form.field('value', t('valueJson'), (a) => html`<textarea ...${a} rows="4" cols="40" value=${draft.value} onInput=${on('value')} required></textarea>`)}
      <button type="submit">${t('save')}</button>
      ${editing ? html`<button type="button" onClick=${reset}>${t('cancel')}</button>` : null}
    </fieldset></form>
    ${form.failureView}
    <${Table} caption=${t('myData')} rows=${list.data?.records} error=${list.error} loading=${list.loading} columns=${[
      { key: 'key', label: 'key' }, { key: 'value', label: 'value', render: (r: Record_) => html`<code class="message">${JSON.stringify(r.value)}</code>` },
      { key: 'version', label: 'version' }, { key: 'updated_at', label: 'updated', render: (r: Record_) => show(r.updated_at) },
      { key: 'etag', label: 'actions', render: (r: Record_) => html`<div class="actions">
        <button type="button" aria-label=${`${t('edit')} ${r.key}`} onClick=${() => edit(r)}>${t('edit')}</button>
        <button type="button" class="danger" aria-label=${`${t('delete')} ${r.key}`} onClick=${() => remove(r)}>${t('delete')}</button></div>` },
    ]} /></section>`;
}
