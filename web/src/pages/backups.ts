import { useState } from 'preact/hooks';
import { unwrap } from '../../../client';
import { BACKUP_TYPES } from '../../../shared/availability/backups';
import { html } from '../html';
import { t } from '../i18n';
import { session } from '../session';
import { useApi, Table, ErrorBox, Pager, show, saveFile, type Pagination } from '../ui';
import { useOperation } from '../operation';

interface Backup { id: string; name: string; type: string; status: string; created_at: string | null; completed_at: string | null; size_bytes: number | null; error: string | null }

const size = (n: number | null) => (n === null ? '—' : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`);

/** Platform backups (admins): the list, a new backup and a restore (both operations, followed live; a restore is confirmed first). */
export function Backups() {
  const [page, setPage] = useState(1);
  const list = useApi<{ backups: Backup[]; pagination: Pagination }>(`/api/v1/backup/backups?size=50&page=${page}`);
  const operation = useOperation(() => list.reload());
  const [error, setError] = useState<Error | null>(null);
  const create = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    void operation.start('POST', '/api/v1/backup/backups/create', { name: String(form.get('name')).trim(), backup_type: form.get('backup_type') }).then(() => list.reload());
  };
  const restore = (b: Backup) => {
    if (confirm(`${t('confirmRestore')}\n\n${b.name} (${b.id})`)) void operation.start('POST', `/api/v1/backup/backups/${encodeURIComponent(b.id)}/restore`, {});
  };
  const download = async (b: Backup) => {
    setError(null);
    const answer = await session.client.api.GET('/api/v1/backup/backups/{id}/download', { params: { path: { id: b.id } }, parseAs: 'blob' });
    if (!answer.response.ok) { try { unwrap(answer); } catch (e) { setError(e as Error); } return; }
    saveFile(`${b.id}.tar.gz`, answer.data as Blob);
  };
  return html`<section><h1>${t('backups')}</h1>
    <form class="create" onSubmit=${create} aria-label=${t('newBackup')}><fieldset><legend>${t('newBackup')}</legend>
      <label>${t('name')} <input name="name" required maxlength="200" /></label>
      <label>${t('backupType')} <select name="backup_type">${BACKUP_TYPES.map((ty) => html`<option value=${ty}>${ty}</option>`)}</select></label>
      <button type="submit">${t('create')}</button>
    </fieldset></form>
    ${operation.view}
    ${error ? html`<${ErrorBox} error=${error} />` : null}
    <button type="button" onClick=${list.reload}>${t('refresh')}</button>
    <${Pager} pagination=${list.data?.pagination} onPage=${setPage} />
    <${Table} caption=${t('backups')} rows=${list.data?.backups} error=${list.error} loading=${list.loading} columns=${[
      { key: 'name', label: 'name' }, { key: 'type', label: 'type' },
      { key: 'status', label: 'status', render: (b: Backup) => html`<span class="badge ${b.status}" title=${b.error ?? ''}>${b.status}</span>` },
      { key: 'created_at', label: 'created' }, { key: 'completed_at', label: 'completed', render: (b: Backup) => show(b.completed_at) },
      { key: 'size_bytes', label: 'size', render: (b: Backup) => size(b.size_bytes) },
      { key: 'id', label: 'actions', render: (b: Backup) => (b.status === 'completed' ? html`<div class="actions">
        <button type="button" onClick=${() => download(b)}>${t('download')}</button>
        <button type="button" class="danger" onClick=${() => restore(b)}>${t('restore')}</button></div>` : null) },
    ]} /></section>`;
}
