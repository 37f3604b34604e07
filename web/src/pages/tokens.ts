import { useState } from 'preact/hooks';
import { html } from '../html';
import { t } from '../i18n';
import { session } from '../session';
import { useApi, Table, show } from '../ui';
import { useForm, confirmed, SecretOnce } from '../form';

interface Token { id: number; name: string; prefix: string; scopes: string[]; expires_at: string | null; last_used_at: string | null; revoked_at: string | null; created_at: string | null }

/**
 * What a token may be granted: the user's own permissions (an admin's `*` stands for all of them), and `tokens` (minting
 * tokens itself), which a signed-in user may always give.
 */
const SCOPES = ['view', 'create', 'update', 'delete'];

/** The user's API tokens: create one (its secret shown once, with a copy button) and revoke one after a confirmation. */
export function Tokens() {
  const list = useApi<{ tokens: Token[] }>('/api/v1/tokens');
  const form = useForm('token');
  const [secret, setSecret] = useState<{ name: string; token: string } | null>(null);
  const mine = session.user?.permissions ?? [];
  const offered = [...SCOPES.filter((s) => mine.includes('*') || mine.includes(s)), 'tokens'];
  const create = async (e: Event) => {
    e.preventDefault();
    const el = e.target as HTMLFormElement;
    const data = new FormData(el);
    const days = String(data.get('expires_in_days') ?? '').trim();
    const body: Record<string, unknown> = { name: String(data.get('name')).trim(), scopes: data.getAll('scopes') };
    if (days) body.expires_in_days = Number(days);
    const made = await form.run(() => session.request<Token & { token: string }>('POST', '/api/v1/tokens', body));
    if (made) { setSecret({ name: made.name, token: made.token }); el.reset(); list.reload(); }
  };
  const revoke = (tk: Token) => {
    if (confirmed(`${t('revoke')} ${tk.name} (${tk.prefix}…)`)) void form.run(() => session.request('DELETE', `/api/v1/tokens/${tk.id}`)).then(() => list.reload());
  };
  return html`<section><h1>${t('apiTokens')}</h1>
    <form class="create" onSubmit=${create} noValidate aria-label=${t('newToken')}><fieldset><legend>${t('newToken')}</legend>
      ${form.input('name', t('name'), { maxlength: 100, required: true, autocomplete: 'off' })}
      ${form.input('expires_in_days', t('expiresInDays'), { type: 'number', min: 1, max: 3650, inputmode: 'numeric' })}
      <fieldset class="choices"><legend>${t('scopes')}</legend>
        ${offered.map((s) => html`<label class="inline"><input type="checkbox" name="scopes" value=${s} checked=${s === 'view'} /> ${s}</label>`)}</fieldset>
      <button type="submit">${t('create')}</button>
    </fieldset></form>
    ${form.failureView}
    ${secret ? html`<${SecretOnce} title=${`${t('tokenSecret')}: ${secret.name}`} secret=${secret.token} onClose=${() => setSecret(null)} />` : null}
    <${Table} caption=${t('apiTokens')} rows=${list.data?.tokens} error=${list.error} loading=${list.loading} columns=${[
      { key: 'name', label: 'name' }, { key: 'prefix', label: 'prefix', render: (tk: Token) => `${tk.prefix}…` },
      { key: 'scopes', label: 'scopes', render: (tk: Token) => tk.scopes.join(', ') || '—' },
      { key: 'expires_at', label: 'expires', render: (tk: Token) => show(tk.expires_at) }, { key: 'last_used_at', label: 'lastUsed', render: (tk: Token) => show(tk.last_used_at) },
      { key: 'revoked_at', label: 'status', render: (tk: Token) => html`<span class="badge ${tk.revoked_at ? 'failed' : 'succeeded'}">${t(tk.revoked_at ? 'revoked' : 'active')}</span>` },
      { key: 'id', label: 'actions', render: (tk: Token) => (tk.revoked_at ? null : html`<button type="button" class="danger" aria-label=${`${t('revoke')} ${tk.name}`} onClick=${() => revoke(tk)}>${t('revoke')}</button>`) },
    ]} /></section>`;
}
