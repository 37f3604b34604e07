import type { ProxyRoute } from './desired';

export interface CaddyTarget { adminSocket: string; storageDir: string; httpPort: number; httpsPort: number }

/**
 * The whole Caddy configuration for a host's proxies, loaded with one `POST /load` (Caddy validates it and keeps the
 * running config when it refuses). Every load carries the `admin` block (a load without it moves the admin endpoint
 * off the socket). TLS-on domains get certificates from Caddy's internal CA; unknown hosts get a 404.
 */
export function renderCaddy(routes: ProxyRoute[], t: CaddyTarget) {
  const route = (r: ProxyRoute) => ({
    '@id': `proxy-${r.domain}`,
    match: [{ host: [r.domain] }],
    handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: r.upstream }] }],
    terminal: true,
  });
  const notFound = { handle: [{ handler: 'static_response', status_code: 404, body: 'unknown host\n' }], terminal: true };
  const sorted = [...routes].sort((a, b) => a.domain.localeCompare(b.domain));
  const tlsDomains = sorted.filter((r) => r.tls).map((r) => r.domain);
  return {
    admin: { listen: `unix/${t.adminSocket}`, config: { persist: false } },
    storage: { module: 'file_system', root: t.storageDir },
    apps: {
      http: {
        http_port: t.httpPort,
        https_port: t.httpsPort,
        servers: {
          idcflow_http: { listen: [`:${t.httpPort}`], routes: [...sorted.map(route), notFound], automatic_https: { disable: true } },
          idcflow_https: {
            listen: [`:${t.httpsPort}`],
            routes: [...sorted.filter((r) => r.tls).map(route), notFound],
            tls_connection_policies: [{}],
            automatic_https: { disable_redirects: true },
          },
        },
      },
      ...(tlsDomains.length ? { tls: { automation: { policies: [{ subjects: tlsDomains, issuers: [{ module: 'internal', ca: 'idcflow' }] }] } } } : {}),
      pki: { certificate_authorities: { idcflow: { name: 'idcflow internal CA', install_trust: false } } },
    },
  };
}

/** JSON with keys sorted, to compare a config read back from Caddy with the one rendered. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}
