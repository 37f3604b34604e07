import { directoryProblem, issuerStorageKey, obtainOutcomes, storageSafe } from '../../shared/networking/acme';
import { renderCaddy, INTERNAL_CA } from '../../shared/networking/caddy';

const target = { adminSocket: '/run/a.sock', storageDir: '/var/lib/caddy', httpPort: 8880, httpsPort: 8443, tlsLog: '/var/lib/caddy/logs/idcflow-tls.log' };
const routes = [{ domain: 'b.example.test', upstream: '10.0.0.2:80', tls: true }, { domain: 'a.example.test', upstream: '10.0.0.2:81', tls: false }];
const policies = (c: ReturnType<typeof renderCaddy>) => (c.apps as { tls?: { automation: { policies: Array<{ subjects: string[]; issuers: unknown[] }> } } }).tls?.automation.policies;

describe('ACME in the proxy config (pure)', () => {
  it('without settings the TLS domains use the internal CA; with them, the ACME issuer on the proxy\'s own ports, and no fallback', () => {
    expect(policies(renderCaddy(routes, { ...target, acme: null }))).toEqual([{ subjects: ['b.example.test'], issuers: [{ module: 'internal', ca: INTERNAL_CA }] }]);
    const acme = { directory: 'https://ca.example.test/acme/dir', email: 'ops@example.test', caRootPem: 'x', challenges: ['http-01' as const], rootsFile: '/var/lib/idcflow/acme-roots/r.pem' };
    expect(policies(renderCaddy(routes, { ...target, acme }))).toEqual([{
      subjects: ['b.example.test'],
      issuers: [{
        module: 'acme', ca: acme.directory, email: acme.email, trusted_roots_pem_files: [acme.rootsFile],
        challenges: { http: { alternate_port: 8880 }, 'tls-alpn': { disabled: true } },
      }],
    }]);
    const both = policies(renderCaddy(routes, { ...target, acme: { ...acme, email: null, rootsFile: null, challenges: ['http-01', 'tls-alpn-01'] } }))![0].issuers[0];
    expect(both).toEqual({ module: 'acme', ca: acme.directory, challenges: { http: { alternate_port: 8880 }, 'tls-alpn': { alternate_port: 8443 } } });
    expect(policies(renderCaddy([routes[1]], { ...target, acme }))).toBeUndefined();
  });

  it('directory URLs: https only, no credentials or fragment', () => {
    expect(directoryProblem('https://acme-v02.api.letsencrypt.org/directory')).toBeNull();
    for (const bad of ['http://ca.test/dir', 'ca.test/dir', 'https://u:p@ca.test/dir', 'https://ca.test/dir#x', 'ftp://ca.test']) expect(directoryProblem(bad)).not.toBeNull();
  });

  it('storage keys as Caddy names its folders', () => {
    expect(issuerStorageKey('https://10.78.0.2:14000/dir', INTERNAL_CA)).toBe('10.78.0.2-14000-dir');
    expect(issuerStorageKey('https://acme-v02.api.letsencrypt.org/directory', INTERNAL_CA)).toBe('acme-v02.api.letsencrypt.org-directory');
    expect(issuerStorageKey(null, INTERNAL_CA)).toBe('idcflow');
    expect(storageSafe('*.Example.test')).toBe('wildcard_.example.test');
  });

  it('the last obtain outcome per domain from Caddy\'s TLS log: an error stays until a success', () => {
    const log = [
      '{"level":"info","ts":1796020799.29,"logger":"tls.obtain","msg":"obtaining certificate","identifier":"a.test"}',
      '{"level":"error","ts":1796020800,"logger":"tls.obtain","msg":"could not get certificate from issuer","identifier":"a.test","error":"HTTP 403 unauthorized"}',
      '{"level":"error","ts":1796020800.1,"logger":"tls.obtain","msg":"will retry","identifier":"a.test","error":"[a.test] Obtain: HTTP 403 unauthorized"}',
      '{"level":"info","ts":1796020801,"logger":"tls.obtain","msg":"certificate obtained successfully","identifier":"b.test"}',
      '{"level":"error","ts":1796020802,"logger":"tls.obtain","msg":"will retry","identifier":"b.test","error":"[b.test] Obtain: timeout"}',
      '{"level":"info","ts":1796020803,"logger":"tls.obtain","msg":"certificate obtained successfully","identifier":"b.test"}',
      '{"level":"error","ts":17960', // cut by the tail read
    ].join('\n');
    const out = obtainOutcomes(log);
    expect(out.get('a.test')).toEqual({ error: 'HTTP 403 unauthorized', at: new Date(1796020800 * 1000).toISOString() });
    expect(out.get('b.test')).toEqual({ error: null, at: new Date(1796020803 * 1000).toISOString() });
  });
});
