import { useState } from 'preact/hooks';
import { html } from '../html';
import { t } from '../i18n';
import { session } from '../session';
import { useApi, Table } from '../ui';
import { useForm, confirmed, SecretOnce } from '../form';

interface Client { client_id: string; client_type: string; name: string; description: string | null; redirect_uris: string[]; scopes: string[]; is_active: boolean }

const lines = (text: unknown) => String(text ?? '').split('\n').map((l) => l.trim()).filter(Boolean);

/** The user's OAuth clients: register one (a confidential client's secret shown once), edit its redirect URIs, delete it. */
export function OAuthClients() {
  const list = useApi<{ clients: Client[] }>('/api/v1/oauth/clients');
  const form = useForm('oauth');
  const uris = useForm('oauth-uris');
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [editing, setEditing] = useState<Client | null>(null);
  const [draft, setDraft] = useState('');
  const create = async (e: Event) => {
    e.preventDefault();
    const el = e.target as HTMLFormElement;
    const data = new FormData(el);
    const body = { name: String(data.get('name')).trim(), client_type: data.get('client_type'), redirect_uris: lines(data.get('redirect_uris')), description: String(data.get('description') ?? '') || undefined };
    const made = await form.run(() => session.request<Client & { client_secret: string | null }>('POST', '/api/v1/oauth/clients', body));
    if (!made) return;
    el.reset();
    if (made.client_secret) setSecret({ name: made.name, secret: made.client_secret });
    list.reload();
  };
  const saveUris = async (e: Event) => {
    e.preventDefault();
    const done = await uris.run(() => session.request('PATCH', `/api/v1/oauth/clients/${encodeURIComponent(editing!.client_id)}`, { redirect_uris: lines(draft) }));
    if (done) { setEditing(null); list.reload(); }
  };
  const remove = (c: Client) => {
    if (confirmed(`${c.name} (${c.client_id})`)) void form.run(() => session.request('DELETE', `/api/v1/oauth/clients/${encodeURIComponent(c.client_id)}`)).then(() => list.reload());
  };
  return html`<section><h1>${t('oauthClients')}</h1>
    <form class="create" onSubmit=${create} noValidate aria-label=${t('newClient')}><fieldset><legend>${t('newClient')}</legend>
      ${form.input('name', t('name'), { maxlength: 100, required: true, autocomplete: 'off' })}
      ${form.field('client_type', t('clientType'), (a) => html`<select ...${a}><option value="confidential">confidential</option><option value="public">public (PKCE)</option></select>`)}
      ${form.field('redirect_uris', t('redirectUris'), (a) => html`<textarea ...${a} rows="3" cols="40" placeholder="https://app.example.com/callback"></textarea>`)}
      ${form.input('description', t('description'), { maxlength: 1000 })}
      <button type="submit">${t('create')}</button>
    </fieldset></form>
    ${form.failureView}
    ${secret ? html`<${SecretOnce} title=${`${t('clientSecret')} ${secret.name}`} secret=${secret.secret} onClose=${() => setSecret(null)} />` : null}
    ${editing ? html`<form class="config" onSubmit=${saveUris} noValidate aria-label=${`${t('redirectUris')}: ${editing.name}`}>
      <h2>${editing.name}</h2>
      ${uris.field('redirect_uris', t('redirectUris'), (a) => html`<textarea ...${a} rows="4" cols="60" value=${draft} onInput=${(e: Event) => setDraft((e.target as HTMLTextAreaElement).value)}></textarea>`)}
      <button type="submit">${t('saveUris')}</button> <button type="button" onClick=${() => setEditing(null)}>${t('cancel')}</button>
      ${uris.failureView}</form>` : null}
    <${Table} caption=${t('oauthClients')} rows=${list.data?.clients} error=${list.error} loading=${list.loading} columns=${[
      { key: 'name', label: 'name' }, { key: 'client_id', label: 'clientId' }, { key: 'client_type', label: 'clientType' },
      { key: 'redirect_uris', label: 'redirectUrisShort', render: (c: Client) => c.redirect_uris.join(' ') || '—' },
      { key: 'scopes', label: 'scopes', render: (c: Client) => c.scopes.join(', ') },
      { key: 'is_active', label: 'status', render: (c: Client) => t(c.is_active ? 'active' : 'disabled') },
      { key: 'description', label: 'actions', render: (c: Client) => html`<div class="actions">
        <button type="button" aria-label=${`${t('edit')} ${c.name}`} onClick=${() => { uris.setErrors({}); setDraft(c.redirect_uris.join('\n')); setEditing(c); }}>${t('edit')}</button>
        <button type="button" class="danger" aria-label=${`${t('delete')} ${c.name}`} onClick=${() => remove(c)}>${t('delete')}</button></div>` },
    ]} /></section>`;
}
