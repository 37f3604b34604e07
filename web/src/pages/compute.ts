import { useState } from 'preact/hooks';
import { html } from '../html';
import { t } from '../i18n';
import { session } from '../session';
import { useApi, Table, ErrorBox, Pager, show, type Pagination } from '../ui';
import { useOperation } from '../operation';
import { InstanceNetworking } from './networking';

interface Host { id: number; name: string; engine_type: string; enabled: boolean; agent: { online: boolean } }
interface Instance { id: number; uuid: string; name: string; host: { name: string; engine_type: string }; state: string; cpu: number; ram_mb: number; image: string | null; created_at: string }

export function Hosts() {
  const hosts = useApi<{ hosts: Host[] }>('/api/v1/hosts?size=100');
  return html`<section><h1>${t('hosts')}</h1>
    <${Table} caption=${t('hosts')} rows=${hosts.data?.hosts} error=${hosts.error} loading=${hosts.loading} columns=${[
      { key: 'name', label: 'name' }, { key: 'engine_type', label: 'engine' }, { key: 'enabled', label: 'enabled' },
      { key: 'agent', label: 'agent', render: (h: Host) => (h.agent.online ? '●' : '○') },
    ]} /></section>`;
}

/** Instances: the list, a create form that follows its operation live, power actions and the terminal. */
export function Instances() {
  const [filter, setFilter] = useState('');
  const [page, setPage] = useState(1);
  const list = useApi<{ instances: Instance[]; pagination: Pagination }>(`/api/v1/instances?size=100&page=${page}`);
  const operation = useOperation(() => list.reload());
  const [error, setError] = useState<Error | null>(null);
  const [network, setNetwork] = useState<Instance | null>(null);
  const openTerminal = async (i: Instance) => {
    try {
      const c = await session.get<{ web_url?: string; url: string }>(`/api/v1/instances/${i.id}/console`);
      window.open(c.web_url ?? c.url, '_blank', 'noopener');
    } catch (e) { setError(e as Error); }
  };
  const rows = (list.data?.instances ?? []).filter((i) => !filter || `${i.name} ${i.uuid} ${i.host.name}`.toLowerCase().includes(filter.toLowerCase()));
  return html`<section><h1>${t('instances')}</h1>
    <${CreateInstance} start=${operation.start} />
    ${operation.view}
    ${error ? html`<${ErrorBox} error=${error} />` : null}
    ${network ? html`<${InstanceNetworking} key=${network.uuid} instance=${network.uuid} name=${network.name} onClose=${() => setNetwork(null)} />` : null}
    <label class="search">${t('search')} <input type="search" value=${filter} onInput=${(e: Event) => setFilter((e.target as HTMLInputElement).value)} /></label>
    <${Pager} pagination=${list.data?.pagination} onPage=${setPage} />
    <${Table} caption=${t('instances')} rows=${list.data ? rows : undefined} error=${list.error} loading=${list.loading} columns=${[
      { key: 'name', label: 'name' }, { key: 'host', label: 'host', render: (i: Instance) => i.host.name }, { key: 'state', label: 'state', render: (i: Instance) => html`<span class="badge ${i.state}">${i.state}</span>` },
      { key: 'cpu', label: 'cpu' }, { key: 'ram_mb', label: 'ram' }, { key: 'image', label: 'image', render: (i: Instance) => show(i.image) },
      { key: 'actions', label: 'actions', render: (i: Instance) => html`<div class="actions">
        ${(['start', 'stop', 'restart'] as const).map((a) => html`<button type="button" onClick=${() => operation.start('POST', `/api/v1/instances/${i.id}/power`, { action: a })}>${t(a)}</button>`)}
        <button type="button" aria-label=${`${t('networking')} ${i.name}`} onClick=${() => setNetwork(i)}>${t('networking')}</button>
        ${i.host.engine_type !== 'simulator' ? html`<button type="button" onClick=${() => openTerminal(i)}>${t('terminal')}</button>` : null}
        <button type="button" class="danger" onClick=${() => confirm(`${t('delete')} ${i.name}?`) && operation.start('DELETE', `/api/v1/instances/${i.id}`)}>${t('delete')}</button>
      </div>` },
    ]} /></section>`;
}

function CreateInstance({ start }: { start: (method: string, path: string, body: unknown) => Promise<boolean> }) {
  const hosts = useApi<{ hosts: Host[] }>(session.isAdmin ? '/api/v1/hosts?size=100' : null);
  const submit = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const body: Record<string, unknown> = { name: form.get('name'), cpu: Number(form.get('cpu')), ram_mb: Number(form.get('ram_mb')) };
    if (form.get('image')) body.image = form.get('image');
    if (form.get('host')) body.host = form.get('host');
    void start('POST', '/api/v1/instances', body);
  };
  return html`<form class="create" onSubmit=${submit} aria-label=${t('newInstance')}>
    <fieldset><legend>${t('newInstance')}</legend>
      <label>${t('name')} <input name="name" required maxlength="128" /></label>
      ${session.isAdmin ? html`<label>${t('host')} <select name="host"><option value="">${t('anyHost')}</option>${(hosts.data?.hosts ?? []).map((h) => html`<option value=${h.name}>${h.name} (${h.engine_type})</option>`)}</select></label>` : null}
      <label>${t('image')} <input name="image" placeholder="busybox" /></label>
      <label>${t('cpu')} <input name="cpu" type="number" min="1" max="256" value="1" /></label>
      <label>${t('ram')} <input name="ram_mb" type="number" min="16" value="256" /></label>
      <button type="submit">${t('create')}</button>
    </fieldset>
  </form>`;
}
