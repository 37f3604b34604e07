import { html } from '../html';
import { t } from '../i18n';
import { session } from '../session';
import { useApi, Table, Pager, show, type Pagination } from '../ui';
import { useForm } from '../form';
import { useState } from 'preact/hooks';

interface User { id: number; username: string; email: string; role: string; is_active: boolean; last_login: string | null }
export const ROLES = ['admin', 'manager', 'user', 'viewer'];

/** Users (admins): create one, enable or disable one, change a role. */
export function Users() {
  const [page, setPage] = useState(1);
  const list = useApi<{ users: User[]; pagination: Pagination }>(`/api/v1/users?size=50&page=${page}`);
  const form = useForm('user');
  const rows = useForm('user-row');
  const create = async (e: Event) => {
    e.preventDefault();
    const el = e.target as HTMLFormElement;
    const data = Object.fromEntries(new FormData(el));
    if (await form.run(() => session.request('POST', '/api/v1/users', data))) { el.reset(); list.reload(); }
  };
  const change = (send: () => Promise<unknown>) => void rows.run(send).then(() => list.reload());
  return html`<section><h1>${t('users')}</h1>
    <form class="create" onSubmit=${create} noValidate aria-label=${t('newUser')}><fieldset><legend>${t('newUser')}</legend>
      ${form.input('username', t('username'), { required: true, autocomplete: 'off' })}
      ${form.input('email', t('email'), { type: 'email', required: true, autocomplete: 'off' })}
      ${form.input('password', t('password'), { type: 'password', required: true, autocomplete: 'new-password' })}
      ${form.field('role', t('role'), (a) => html`<select ...${a}>${ROLES.map((r) => html`<option value=${r} selected=${r === 'user'}>${r}</option>`)}</select>`)}
      <button type="submit">${t('create')}</button>
    </fieldset></form>
    ${form.failureView}${rows.failureView}
    <${Pager} pagination=${list.data?.pagination} onPage=${setPage} />
    <${Table} caption=${t('users')} rows=${list.data?.users} error=${list.error} loading=${list.loading} columns=${[
      { key: 'username', label: 'username' }, { key: 'email', label: 'email' },
      { key: 'is_active', label: 'status', render: (u: User) => html`<span class="badge ${u.is_active ? 'succeeded' : 'failed'}">${t(u.is_active ? 'active' : 'disabled')}</span>` },
      { key: 'last_login', label: 'lastUsed', render: (u: User) => show(u.last_login) },
      { key: 'role', label: 'role', render: (u: User) => html`<select aria-label=${`${t('role')} ${u.username}`} value=${u.role} disabled=${u.id === session.user?.id}
        onChange=${(e: Event) => change(() => session.request('PUT', `/api/v1/users/${u.id}`, { role: (e.target as HTMLSelectElement).value }))}>
        ${ROLES.map((r) => html`<option value=${r}>${r}</option>`)}</select>` },
      { key: 'id', label: 'actions', render: (u: User) => (u.id === session.user?.id ? null : html`<button type="button" class=${u.is_active ? 'danger' : ''}
        aria-label=${`${t(u.is_active ? 'disable' : 'enable')} ${u.username}`} onClick=${() => change(() => session.request('POST', `/api/v1/users/${u.id}/toggle-status`))}>${t(u.is_active ? 'disable' : 'enable')}</button>`) },
    ]} /></section>`;
}
