import { useState } from 'preact/hooks';
import { html } from '../html';
import { t } from '../i18n';
import { session } from '../session';
import { useApi, Table } from '../ui';
import { useForm, confirmed, SecretOnce } from '../form';
import { useOperation } from '../operation';

interface Server { id: number; name: string; interface: string; host: string | null; listen_port: number; ipv4_address: string | null; ipv6_address: string | null; endpoint: string | null; public_key: string; status: string; desired_state: string; last_error: string | null; clients_count: number }

/** The API waits for a start or stop; the console follows the operation itself (progress and cancel). */
const ASYNC = { Prefer: 'respond-async' };

/**
 * WireGuard servers (admins, managers): create (keys made by the API, the private key shown once), start and stop
 * (operations on the host's agent, followed live), delete a stopped server without clients after a confirmation.
 */
export function WireguardServers() {
  const list = useApi<{ servers: Server[] }>('/api/v1/wireguard/servers?size=100');
  const operation = useOperation(() => list.reload());
  const form = useForm('wg');
  const hosts = useApi<{ hosts: Array<{ id: number; name: string }> }>(session.isAdmin ? '/api/v1/hosts?size=100' : null);
  const [key, setKey] = useState<{ name: string; key: string } | null>(null);
  const create = async (e: Event) => {
    e.preventDefault();
    const el = e.target as HTMLFormElement;
    const data = Object.fromEntries(new FormData(el)) as Record<string, string>;
    const body: Record<string, unknown> = { name: data.name.trim(), listen_port: Number(data.listen_port) || data.listen_port, is_active: true };
    for (const k of ['interface', 'ipv4_address', 'ipv6_address', 'endpoint'] as const) if (data[k]?.trim()) body[k] = data[k].trim();
    if (data.host_id) body.host_id = Number(data.host_id);
    if (data.mtu) body.mtu = Number(data.mtu);
    if (data.dns_servers?.trim()) body.dns_servers = data.dns_servers.split(/[\s,]+/).filter(Boolean);
    const made = await form.run(() => session.request<Server & { private_key: string }>('POST', '/api/v1/wireguard/servers', body));
    if (made) { setKey({ name: made.name, key: made.private_key }); el.reset(); list.reload(); }
  };
  const power = (s: Server, action: 'start' | 'stop') => operation.start('POST', `/api/v1/wireguard/servers/${s.id}/${action}`, undefined, ASYNC);
  const remove = (s: Server) => { if (confirmed(`${s.name} (${s.interface})`)) void form.run(() => session.request('DELETE', `/api/v1/wireguard/servers/${s.id}`)).then(() => list.reload()); };
  return html`<section><h1>${t('wgServers')}</h1>
    <form class="create" onSubmit=${create} noValidate aria-label=${t('newWgServer')}><fieldset><legend>${t('newWgServer')}</legend>
      ${form.input('name', t('name'), { required: true, maxlength: 100, autocomplete: 'off' })}
      ${session.isAdmin ? form.field('host_id', t('host'), (a) => html`<select ...${a}><option value="">local</option>${(hosts.data?.hosts ?? []).map((h) => html`<option value=${h.id}>${h.name}</option>`)}</select>`) : null}
      ${form.input('interface', t('iface'), { maxlength: 15, autocomplete: 'off', placeholder: 'wg0' })}
      ${form.input('listen_port', t('listenPort'), { type: 'number', min: 1, max: 65535, required: true, placeholder: '51820' })}
      ${form.input('ipv4_address', t('ipv4Cidr'), { autocomplete: 'off', placeholder: '10.8.0.1/24' })}
      ${form.input('ipv6_address', t('ipv6Cidr'), { autocomplete: 'off', placeholder: 'fd00:8::1/64' })}
      ${form.input('dns_servers', t('dnsServers'), { autocomplete: 'off' })}
      ${form.input('mtu', t('mtu'), { type: 'number', min: 1280, max: 9000 })}
      ${form.input('endpoint', t('endpointHost'), { autocomplete: 'off', placeholder: 'vpn.example.com' })}
      <button type="submit">${t('create')}</button>
    </fieldset></form>
    ${form.failureView}${operation.view}
    ${key ? html`<${SecretOnce} title=${`${t('privateKeyOf')} ${key.name}`} secret=${key.key} onClose=${() => setKey(null)} />` : null}
    <${Table} caption=${t('wgServers')} rows=${list.data?.servers} error=${list.error} loading=${list.loading} columns=${[
      { key: 'name', label: 'name' }, { key: 'host', label: 'host' }, { key: 'interface', label: 'iface' }, { key: 'listen_port', label: 'listenPort' },
      { key: 'ipv4_address', label: 'IPv4' }, { key: 'ipv6_address', label: 'IPv6' }, { key: 'clients_count', label: 'clients' },
      { key: 'public_key', label: 'publicKey', render: (s: Server) => html`<code class="wrap">${s.public_key}</code>` },
      { key: 'status', label: 'status', render: (s: Server) => html`<span class="badge ${s.status}" title=${s.last_error ?? ''}>${s.status}</span>` },
      { key: 'id', label: 'actions', render: (s: Server) => {
        const running = s.desired_state === 'running' || s.status === 'running';
        return html`<div class="actions">
          <button type="button" aria-label=${`${t(running ? 'stop' : 'start')} ${s.name}`} onClick=${() => power(s, running ? 'stop' : 'start')}>${t(running ? 'stop' : 'start')}</button>
          ${running ? null : html`<button type="button" class="danger" aria-label=${`${t('delete')} ${s.name}`} onClick=${() => remove(s)}>${t('delete')}</button>`}</div>`;
      } },
    ]} /></section>`;
}
