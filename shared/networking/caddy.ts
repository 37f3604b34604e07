import type { ProxyRoute } from './desired';
import type { AcmeSettings } from './acme';

export interface CaddyTarget {
  adminSocket: string; storageDir: string; httpPort: number; httpsPort: number;
  /** The host's ACME settings (null: the internal CA), with the file the agent wrote their CA root PEM to. */
  acme: (AcmeSettings & { rootsFile: string | null }) | null;
  /** Where Caddy writes its certificate obtain/renew log, which the agent reads for each domain's last error. */
  tlsLog: string;
}

/** The id of the internal CA that issues the TLS domains' certificates without ACME. */
export const INTERNAL_CA = 'idcflow';

/**
 * The issuer of the TLS domains. ACME solves HTTP-01 on the proxy's HTTP port and TLS-ALPN-01 on its HTTPS port (both
 * served by Caddy's own servers there); the CA always connects to 80 and 443, so ports other than those mean the host
 * maps 80/443 to them. No internal fallback: a certificate no browser trusts would hide a failing ACME order.
 */
function issuer(t: CaddyTarget) {
  if (!t.acme) return { module: 'internal', ca: INTERNAL_CA };
  const a = t.acme;
  return {
    module: 'acme', ca: a.directory, ...(a.email ? { email: a.email } : {}), ...(a.rootsFile ? { trusted_roots_pem_files: [a.rootsFile] } : {}),
    challenges: {
      http: a.challenges.includes('http-01') ? { alternate_port: t.httpPort } : { disabled: true },
      'tls-alpn': a.challenges.includes('tls-alpn-01') ? { alternate_port: t.httpsPort } : { disabled: true },
    },
  };
}

/**
 * The whole Caddy configuration for a host's proxies, loaded with one `POST /load` (Caddy validates it and keeps the
 * running config when it refuses). Every load carries the `admin` block (a load without it moves the admin endpoint
 * off the socket). TLS-on domains get certificates from Caddy's internal CA, or from the host's ACME directory;
 * unknown hosts get a 404.
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
    logging: {
      logs: {
        idcflow_tls: {
          writer: { output: 'file', filename: t.tlsLog, roll_size_mb: 1, roll_keep: 1 },
          encoder: { format: 'json' }, include: ['tls.obtain', 'tls.renew', 'http.acme_client'],
        },
      },
    },
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
      ...(tlsDomains.length ? { tls: { automation: { policies: [{ subjects: tlsDomains, issuers: [issuer(t)] }] } } } : {}),
      pki: { certificate_authorities: { [INTERNAL_CA]: { name: 'idcflow internal CA', install_trust: false } } },
    },
  };
}

/** JSON with keys sorted, to compare a config read back from Caddy with the one rendered. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}
