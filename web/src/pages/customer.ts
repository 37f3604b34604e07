import { useState } from 'preact/hooks';
import { html } from '../html';
import { lang, t } from '../i18n';
import { session } from '../session';
import { useApi, Table, ErrorBox, saveFile } from '../ui';

interface Rental { id: number; uuid: string; status: string; expires_at: string | null; host: { name: string | null } | null; port: number | null }
interface WgClient { id: number; name: string; status: string; enabled: boolean; ipv4_address: string | null; ipv6_address: string | null; expires_at: string | null }

const zh = () => lang.value === 'zh';

/** Relay rentals: expiry, redeeming a code (a new rental, or more days on one), and the derpMap for the tailnet policy. */
export function Rentals() {
  const list = useApi<{ rentals: Rental[] }>('/api/v1/rentals');
  const [error, setError] = useState<Error | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const redeem = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const body: Record<string, unknown> = { code: String(form.get('code')).trim() };
    if (form.get('rental_id')) body.rental_id = Number(form.get('rental_id'));
    setError(null);
    try {
      await session.request('POST', '/api/v1/rentals/redeem', body);
      setDone(zh() ? '兑换成功' : 'Code redeemed');
      list.reload();
    } catch (err) { setError(err as Error); }
  };
  const downloadMap = async () => {
    try {
      const map = await session.get('/api/v1/rentals/derp-map');
      saveFile('derpMap.json', new Blob([JSON.stringify(map, null, 2)], { type: 'application/json' }));
    } catch (err) { setError(err as Error); }
  };
  const title = zh() ? '中继租用' : 'Relay rentals';
  return html`<section><h1>${title}</h1>
    <form class="create" onSubmit=${redeem}><fieldset><legend>${zh() ? '兑换码' : 'Redeem a serial code'}</legend>
      <label>${zh() ? '兑换码' : 'Code'} <input name="code" required maxlength="64" autocomplete="off" /></label>
      <label>${zh() ? '续期的租用（可选）' : 'Rental to extend (optional)'} <select name="rental_id"><option value="">${zh() ? '新租用' : 'A new rental'}</option>
        ${(list.data?.rentals ?? []).map((r) => html`<option value=${r.id}>#${r.id} ${r.host?.name ?? ''}:${r.port ?? ''}</option>`)}</select></label>
      <button type="submit">${zh() ? '兑换' : 'Redeem'}</button>
    </fieldset></form>
    ${done ? html`<p role="status">${done}</p>` : null}
    ${error ? html`<${ErrorBox} error=${error} />` : null}
    <button type="button" onClick=${downloadMap}>${zh() ? '下载 derpMap' : 'Download derpMap'}</button>
    <${Table} caption=${title} rows=${list.data?.rentals} error=${list.error} loading=${list.loading} columns=${[
      { key: 'id', label: '#' }, { key: 'status', label: 'status' }, { key: 'expires_at', label: zh() ? '到期' : 'Expires' },
      { key: 'host', label: 'host', render: (r: Rental) => (r.host?.name ? `${r.host.name}:${r.port ?? ''}` : '—') },
    ]} /></section>`;
}

/** WireGuard clients: each one's config file and QR code, for the user's devices. */
export function WireguardClients() {
  const list = useApi<{ clients: WgClient[] }>('/api/v1/wireguard/clients');
  const [shown, setShown] = useState<{ name: string; config: string; qr_code: string } | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const show = async (c: WgClient) => {
    try {
      setShown({ name: c.name, ...(await session.get<{ config: string; qr_code: string }>(`/api/v1/wireguard/clients/${c.id}/config`)) });
    } catch (err) { setError(err as Error); }
  };
  const title = zh() ? 'WireGuard 客户端' : 'WireGuard clients';
  return html`<section><h1>${title}</h1>
    ${error ? html`<${ErrorBox} error=${error} />` : null}
    ${shown ? html`<div class="config"><h2>${shown.name}</h2><img src=${shown.qr_code} alt=${`${zh() ? '二维码' : 'QR code of'} ${shown.name}`} width="240" height="240" />
      <pre tabindex="0">${shown.config}</pre><button type="button" onClick=${() => setShown(null)}>${t('cancel')}</button></div>` : null}
    <${Table} caption=${title} rows=${list.data?.clients} error=${list.error} loading=${list.loading} columns=${[
      { key: 'name', label: 'name' }, { key: 'status', label: 'status' }, { key: 'ipv4_address', label: 'IPv4' }, { key: 'ipv6_address', label: 'IPv6' },
      { key: 'expires_at', label: zh() ? '到期' : 'Expires' },
      { key: 'id', label: 'actions', render: (c: WgClient) => html`<button type="button" onClick=${() => show(c)}>${zh() ? '配置与二维码' : 'Config and QR'}</button>` },
    ]} /></section>`;
}
