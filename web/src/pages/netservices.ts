import { html } from '../html';
import { t } from '../i18n';
import { session } from '../session';
import { useApi, Table } from '../ui';
import { useForm, confirmed } from '../form';
import { useOperation } from '../operation';

interface BgpSession { id: number; name: string; neighbor: string; remote_as: number; local_as: number; enabled: boolean; status: string; last_error: string | null }
interface Pool { id: number; name: string; prefix: string; prefix_length: number; description: string | null }

const numbers = (d: Record<string, FormDataEntryValue>, keys: string[]) => Object.fromEntries(Object.entries(d).filter(([, v]) => v !== '').map(([k, v]) => [k, keys.includes(k) ? Number(v) : v]));

/** BGP sessions (admins, managers): create (BIRD configured by an operation, followed live), start, stop, delete. */
export function BgpSessions() {
  const list = useApi<{ sessions: BgpSession[] }>('/api/v1/bgp/sessions?size=100');
  const operation = useOperation(() => list.reload());
  const form = useForm('bgp');
  const hosts = useApi<{ hosts: Array<{ id: number; name: string }> }>(session.isAdmin ? '/api/v1/hosts?size=100' : null);
  const create = async (e: Event) => {
    e.preventDefault();
    const el = e.target as HTMLFormElement;
    const made = await form.run(() => session.request<{ operation: { id: string } }>('POST', '/api/v1/bgp/sessions', numbers(Object.fromEntries(new FormData(el)), ['remote_as', 'local_as', 'host_id'])));
    if (made) { el.reset(); operation.follow(made.operation.id); list.reload(); }
  };
  const remove = async (s: BgpSession) => {
    if (!confirmed(s.name)) return;
    const gone = await form.run(() => session.request<{ operation: { id: string } }>('DELETE', `/api/v1/bgp/sessions/${s.id}`));
    if (gone) operation.follow(gone.operation.id);
    list.reload();
  };
  return html`<section><h1>${t('bgpSessions')}</h1>
    <form class="create" onSubmit=${create} noValidate aria-label=${t('newBgpSession')}><fieldset><legend>${t('newBgpSession')}</legend>
      ${form.input('name', t('name'), { required: true, autocomplete: 'off' })}
      ${session.isAdmin ? form.field('host_id', t('host'), (a) => html`<select ...${a}><option value="">local</option>${(hosts.data?.hosts ?? []).map((h) => html`<option value=${h.id}>${h.name}</option>`)}</select>`) : null}
      ${form.input('neighbor', t('neighbor'), { required: true, autocomplete: 'off' })}
      ${form.input('remote_as', t('remoteAs'), { type: 'number', required: true })}
      ${form.input('local_as', t('localAs'), { type: 'number', required: true })}
      ${form.input('password', t('password'), { type: 'password', autocomplete: 'new-password' })}
      <button type="submit">${t('create')}</button>
    </fieldset></form>
    ${form.failureView}${operation.view}
    <${Table} caption=${t('bgpSessions')} rows=${list.data?.sessions} error=${list.error} loading=${list.loading} columns=${[
      { key: 'name', label: 'name' }, { key: 'neighbor', label: 'neighbor' }, { key: 'remote_as', label: 'remoteAs' }, { key: 'local_as', label: 'localAs' },
      { key: 'status', label: 'status', render: (s: BgpSession) => html`<span class="badge ${s.status}" title=${s.last_error ?? ''}>${s.status}</span>` },
      { key: 'id', label: 'actions', render: (s: BgpSession) => html`<div class="actions">
        <button type="button" aria-label=${`${t(s.enabled ? 'stop' : 'start')} ${s.name}`} onClick=${() => operation.start('POST', `/api/v1/bgp/sessions/${s.id}/${s.enabled ? 'stop' : 'start'}`)}>${t(s.enabled ? 'stop' : 'start')}</button>
        <button type="button" class="danger" aria-label=${`${t('delete')} ${s.name}`} onClick=${() => remove(s)}>${t('delete')}</button></div>` },
    ]} /></section>`;
}

/** IPv6 pools (admins, managers): create a pool (a prefix and the length it delegates), delete an empty one. */
export function Ipv6Pools() {
  const list = useApi<{ pools: Pool[] }>('/api/v1/ipv6/pools?size=100');
  const form = useForm('pool');
  const create = async (e: Event) => {
    e.preventDefault();
    const el = e.target as HTMLFormElement;
    if (await form.run(() => session.request('POST', '/api/v1/ipv6/pools', numbers(Object.fromEntries(new FormData(el)), ['prefix_length'])))) { el.reset(); list.reload(); }
  };
  const remove = (p: Pool) => { if (confirmed(`${p.name} (${p.prefix})`)) void form.run(() => session.request('DELETE', `/api/v1/ipv6/pools/${p.id}`)).then(() => list.reload()); };
  return html`<section><h1>${t('ipv6Pools')}</h1>
    <form class="create" onSubmit=${create} noValidate aria-label=${t('newPool')}><fieldset><legend>${t('newPool')}</legend>
      ${form.input('name', t('name'), { required: true, autocomplete: 'off' })}
      ${form.input('prefix', t('prefix'), { required: true, placeholder: '2001:db8::/48', autocomplete: 'off' })}
      ${form.input('prefix_length', t('prefixLen'), { type: 'number', min: 1, max: 128, required: true, placeholder: '64' })}
      ${form.input('description', t('description'))}
      <button type="submit">${t('create')}</button>
    </fieldset></form>
    ${form.failureView}
    <${Table} caption=${t('ipv6Pools')} rows=${list.data?.pools} error=${list.error} loading=${list.loading} columns=${[
      { key: 'name', label: 'name' }, { key: 'prefix', label: 'prefix' }, { key: 'prefix_length', label: 'prefixLen', render: (p: Pool) => `/${p.prefix_length}` },
      { key: 'description', label: 'description' },
      { key: 'id', label: 'actions', render: (p: Pool) => html`<button type="button" class="danger" aria-label=${`${t('delete')} ${p.name}`} onClick=${() => remove(p)}>${t('delete')}</button>` },
    ]} /></section>`;
}
