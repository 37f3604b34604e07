import { html } from '../html';
import { lang, t } from '../i18n';
import { useApi, Table, ErrorBox } from '../ui';

/** A list the API serves, shown as it is: the first array in the answer's data, its scalar fields as columns. */
export interface Resource { id: string; en: string; zh: string; path: string; admin?: boolean; manager?: boolean }

export const RESOURCES: Resource[] = [
  { id: 'db-instances', en: 'Database instances', zh: '数据库实例', path: '/api/v1/db/instances', admin: true },
  { id: 'db-sessions', en: 'Sync sessions', zh: '同步会话', path: '/api/v1/db/sessions', admin: true },
  { id: 'rentals', en: 'Relay rentals', zh: '中继租用', path: '/api/v1/rentals' },
  { id: 'serial-batches', en: 'Serial codes', zh: '兑换码批次', path: '/api/v1/rentals/serial-batches', admin: true },
  { id: 'wireguard-servers', en: 'WireGuard servers', zh: 'WireGuard 服务端', path: '/api/v1/wireguard/servers', manager: true },
  { id: 'wireguard-clients', en: 'WireGuard clients', zh: 'WireGuard 客户端', path: '/api/v1/wireguard/clients' },
  { id: 'bgp-sessions', en: 'BGP sessions', zh: 'BGP 会话', path: '/api/v1/bgp/sessions', manager: true },
  { id: 'bgp-announcements', en: 'BGP announcements', zh: 'BGP 宣告', path: '/api/v1/bgp/announcements', manager: true },
  { id: 'ipv6-pools', en: 'IPv6 pools', zh: 'IPv6 地址池', path: '/api/v1/ipv6/pools', manager: true },
  { id: 'ipv6-allocations', en: 'IPv6 allocations', zh: 'IPv6 分配', path: '/api/v1/ipv6/allocations' },
  { id: 'users', en: 'Users', zh: '用户', path: '/api/v1/users', admin: true },
  { id: 'tokens', en: 'API tokens', zh: 'API 令牌', path: '/api/v1/tokens' },
  { id: 'oauth-clients', en: 'OAuth clients', zh: 'OAuth 客户端', path: '/api/v1/oauth/clients' },
  { id: 'user-data', en: 'My data', zh: '我的数据', path: '/api/v1/user-data' },
  { id: 'webhooks', en: 'Webhooks', zh: 'Webhooks', path: '/api/v1/webhooks' },
];

type Row = Record<string, unknown>;

function firstList(data: unknown): Row[] | undefined {
  if (Array.isArray(data)) return data as Row[];
  if (data && typeof data === 'object') for (const v of Object.values(data)) if (Array.isArray(v)) return v as Row[];
  return undefined;
}

export function ResourcePage({ resource }: { resource: Resource }) {
  const answer = useApi<unknown>(`${resource.path}${resource.path.includes('?') ? '&' : '?'}size=100`, [resource.path]);
  const rows = firstList(answer.data);
  const keys = rows?.length ? Object.keys(rows[0]).filter((k) => rows.some((r) => r[k] === null || typeof r[k] !== 'object')).slice(0, 7) : [];
  const title = lang.value === 'zh' ? resource.zh : resource.en;
  return html`<section><h1>${title}</h1>
    <button type="button" onClick=${answer.reload}>${t('refresh')}</button>
    ${answer.error ? html`<${ErrorBox} error=${answer.error} />` : html`<${Table} caption=${title} rows=${answer.data ? rows ?? [] : undefined} loading=${answer.loading} columns=${keys.map((k) => ({ key: k, label: k }))} />`}
  </section>`;
}
