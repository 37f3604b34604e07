import { useState } from 'preact/hooks';
import { html } from '../html';
import { t } from '../i18n';
import { session } from '../session';
import { useApi, Table, Pager, show, type Pagination } from '../ui';
import { useForm, confirmed } from '../form';
import { useOperation } from '../operation';
import { DB_TYPES } from '../../../shared/dbsync/types';

interface DbInstance { id: number; name: string; db_type: string; host: string; port: number; credential_name: string | null; status: string; is_active: boolean; last_sync_at: string | null; account_count?: number }
interface SyncSession { id: string; sync_type: string; status: string; total_instances: number; successful_instances: number; failed_instances: number; started_at: string | null; completed_at: string | null }

/** Database instances (admins): add one (with a new credential, or one already stored), sync one or all (operations, followed live), delete one. */
export function DbInstances() {
  const [page, setPage] = useState(1);
  const list = useApi<{ instances: DbInstance[]; pagination: Pagination }>(`/api/v1/db/instances?size=50&page=${page}`);
  const credentials = useApi<{ credentials: Array<{ id: number; name: string }> }>('/api/v1/db/credentials?size=100');
  const operation = useOperation(() => list.reload());
  const form = useForm('dbi');
  const create = async (e: Event) => {
    e.preventDefault();
    const el = e.target as HTMLFormElement;
    const d = Object.fromEntries(new FormData(el)) as Record<string, string>;
    const made = await form.run(async () => {
      let credentialId = Number(d.credential_id);
      if (!credentialId) { // a new credential first, named after the instance
        const errors = Object.fromEntries(['username', 'password'].filter((k) => !d[k]).map((k) => [k, 'is required']));
        if (Object.keys(errors).length) { form.setErrors(errors); return undefined; }
        credentialId = (await session.request<{ id: number }>('POST', '/api/v1/db/credentials', { name: `${d.name} (${d.username})`, username: d.username, password: d.password, db_type: d.db_type })).id;
        credentials.reload();
      }
      return session.request('POST', '/api/v1/db/instances', { name: d.name, db_type: d.db_type, host: d.host, ...(d.port ? { port: Number(d.port) } : {}), database_name: d.database_name || null, credential_id: credentialId });
    });
    if (made) { el.reset(); list.reload(); }
  };
  const remove = (i: DbInstance) => { if (confirmed(i.name)) void form.run(() => session.request('DELETE', `/api/v1/db/instances/${i.id}`)).then(() => list.reload()); };
  return html`<section><h1>${t('dbInstances')}</h1>
    <form class="create" onSubmit=${create} noValidate aria-label=${t('newDbInstance')}><fieldset><legend>${t('newDbInstance')}</legend>
      ${form.input('name', t('name'), { required: true, autocomplete: 'off' })}
      ${form.field('db_type', t('engine'), (a) => html`<select ...${a}>${DB_TYPES.map((ty) => html`<option value=${ty}>${ty}</option>`)}</select>`)}
      ${form.input('host', t('host'), { required: true, autocomplete: 'off' })}
      ${form.input('port', t('port'), { type: 'number', min: 1, max: 65535 })}
      ${form.input('database_name', t('database'))}
      ${form.field('credential_id', t('credential'), (a) => html`<select ...${a}><option value="">${t('newCredential')}</option>${(credentials.data?.credentials ?? []).map((c) => html`<option value=${c.id}>${c.name}</option>`)}</select>`)}
      ${form.input('username', t('newUsername'), { autocomplete: 'off' })}
      ${form.input('password', t('newPassword'), { type: 'password', autocomplete: 'new-password' })}
      <button type="submit">${t('create')}</button>
    </fieldset></form>
    ${form.failureView}
    <button type="button" onClick=${() => operation.start('POST', '/api/v1/db/sessions', {})}>${t('syncAll')}</button>
    ${operation.view}
    <${Pager} pagination=${list.data?.pagination} onPage=${setPage} />
    <${Table} caption=${t('dbInstances')} rows=${list.data?.instances} error=${list.error} loading=${list.loading} columns=${[
      { key: 'name', label: 'name' }, { key: 'db_type', label: 'engine' }, { key: 'host', label: 'host', render: (i: DbInstance) => `${i.host}:${i.port}` },
      { key: 'status', label: 'status', render: (i: DbInstance) => html`<span class="badge ${i.status}">${i.status}</span>` },
      { key: 'last_sync_at', label: 'lastSync', render: (i: DbInstance) => show(i.last_sync_at) },
      { key: 'id', label: 'actions', render: (i: DbInstance) => html`<div class="actions">
        <button type="button" aria-label=${`${t('sync')} ${i.name}`} onClick=${() => operation.start('POST', `/api/v1/db/instances/${i.id}/sync`)}>${t('sync')}</button>
        <button type="button" class="danger" aria-label=${`${t('delete')} ${i.name}`} onClick=${() => remove(i)}>${t('delete')}</button></div>` },
    ]} /></section>`;
}

/** Sync sessions (admins): the list, a new session over every active instance (an operation, followed live), a session's progress. */
export function SyncSessions() {
  const list = useApi<{ sessions: SyncSession[] }>('/api/v1/db/sessions?size=50');
  const operation = useOperation(() => list.reload());
  return html`<section><h1>${t('syncSessions')}</h1>
    <button type="button" onClick=${() => operation.start('POST', '/api/v1/db/sessions', {}).then(() => list.reload())}>${t('newSession')}</button>
    <button type="button" onClick=${list.reload}>${t('refresh')}</button>
    ${operation.view}
    <${Table} caption=${t('syncSessions')} rows=${list.data?.sessions} error=${list.error} loading=${list.loading} columns=${[
      { key: 'sync_type', label: 'type' }, { key: 'status', label: 'status', render: (s: SyncSession) => html`<span class="badge ${s.status}">${s.status}</span>` },
      { key: 'total_instances', label: 'dbInstances', render: (s: SyncSession) => `${s.successful_instances} ✓ / ${s.failed_instances} ✗ / ${s.total_instances}` },
      { key: 'started_at', label: 'created', render: (s: SyncSession) => show(s.started_at) }, { key: 'completed_at', label: 'completed', render: (s: SyncSession) => show(s.completed_at) },
      { key: 'id', label: 'actions', render: (s: SyncSession) => html`<button type="button" aria-label=${`${t('progress')} ${s.id}`} onClick=${() => operation.follow(s.id)}>${t('progress')}</button>` },
    ]} /></section>`;
}
