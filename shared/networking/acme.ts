/** A host's ACME settings: its proxies' TLS domains get certificates from this directory instead of Caddy's internal CA. */
export const ACME_CHALLENGES = ['http-01', 'tls-alpn-01'] as const;
export type AcmeChallenge = (typeof ACME_CHALLENGES)[number];

export interface AcmeSettings {
  directory: string;
  email: string | null;
  /** PEM of the CA(s) whose certificate the ACME server presents (a private server: step-ca, Pebble); null: the system's roots. */
  caRootPem: string | null;
  challenges: AcmeChallenge[];
}

/** Why a directory URL is refused, or null. RFC 8555 directories are served over HTTPS. */
export function directoryProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'must be an absolute URL';
  }
  if (u.protocol !== 'https:') return 'must be an https:// URL (ACME directories are served over HTTPS)';
  if (u.username || u.password) return 'must not carry credentials';
  if (u.hash) return 'must not have a fragment';
  return null;
}

/** certmagic's StorageKeys.Safe: the folder name Caddy's file storage gives a domain or an issuer. */
export function storageSafe(s: string): string {
  return s.trim().toLowerCase().replace(/ /g, '_').replace(/\+/g, '_plus_').replace(/\*/g, 'wildcard_').replace(/:/g, '-').replace(/\.\.+/g, '').replace(/[^\w@.-]/g, '');
}

/** The folder under `<storage>/certificates/` that holds the certificates an issuer obtained (certmagic's IssuerKey). */
export function issuerStorageKey(acmeDirectory: string | null, internalCa: string): string {
  if (!acmeDirectory) return storageSafe(internalCa); // the internal issuer's key is its CA's id
  const u = new URL(acmeDirectory);
  const path = u.pathname.replace(/[/\\]/g, '-').replace(/^-+|-+$/g, '');
  return storageSafe(path ? `${u.host}-${path}` : u.host);
}

export interface ObtainOutcome { error: string | null; at: string }

/**
 * The latest obtain/renew outcome per domain from Caddy's TLS log (JSON lines of loggers `tls.obtain` and `tls.renew`):
 * an error line ("could not get certificate from issuer", "will retry") sets it, a success line clears it.
 */
export function obtainOutcomes(logText: string): Map<string, ObtainOutcome> {
  const out = new Map<string, ObtainOutcome>();
  for (const line of logText.split('\n')) {
    if (!line.startsWith('{')) continue;
    let e: { level?: string; ts?: number; msg?: string; identifier?: string; error?: string };
    try {
      e = JSON.parse(line);
    } catch {
      continue; // a line cut by the tail read, or being written
    }
    if (!e.identifier || typeof e.ts !== 'number') continue;
    const at = new Date(e.ts * 1000).toISOString();
    if (e.level === 'error' && e.error) {
      // "will retry" repeats the issuer's error behind "[domain] Obtain: ": keep the issuer's own words.
      if (e.msg === 'will retry' && out.get(e.identifier)?.error) continue;
      out.set(e.identifier, { error: e.error, at });
    } else if (/successfully/.test(e.msg ?? '')) {
      out.set(e.identifier, { error: null, at });
    }
  }
  return out;
}
