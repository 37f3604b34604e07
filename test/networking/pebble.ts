import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { Netns } from '../support/netns';
import { eventually } from '../support/api';
import { stopProcess } from '../support/processes';
import { freePort } from '../../workers/embedded-services';

/** Pebble, Let's Encrypt's ACME test server, and its DNS test server: built by .ci/run from the Go module proxy into this cache. */
export const PEBBLE_VERSION = '2.10.3';
const cacheDir = () => path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'idcflow', `pebble-${PEBBLE_VERSION}`);

/** The two binaries, from the project's .tools/bin or the build cache; null when absent. */
export function pebbleBinaries(): { pebble: string; challtestsrv: string } | null {
  for (const dir of [path.resolve(__dirname, '..', '..', '.tools', 'bin'), cacheDir()]) {
    const pebble = path.join(dir, 'pebble');
    const challtestsrv = path.join(dir, 'pebble-challtestsrv');
    if (fs.existsSync(pebble) && fs.existsSync(challtestsrv)) return { pebble, challtestsrv };
  }
  return null;
}

/** Why the ACME test cannot run here, or null. */
export function pebbleUnavailable(): string | null {
  if (!pebbleBinaries()) {
    return `Pebble is not built: .ci/run builds it (GOBIN=${cacheDir()} go install github.com/letsencrypt/pebble/v2/cmd/pebble@v${PEBBLE_VERSION} …/cmd/pebble-challtestsrv@v${PEBBLE_VERSION})`;
  }
  if (spawnSync('openssl', ['version']).status !== 0) return 'openssl is not installed (it makes the certificate of Pebble\'s own HTTPS listener)';
  return null;
}

/**
 * Pebble inside `ns` (the fabric's client side: "the internet"), validating challenges for real: every name resolves
 * (through pebble-challtestsrv's DNS) to `target`, where Pebble connects on `httpPort` (HTTP-01) and `tlsPort`
 * (TLS-ALPN-01). Its ACME listener has a certificate from a CA made here (`listenerCaPem`, what a host trusts for a
 * private ACME server); the certificates it issues chain to a root it generates at start (`issuingRootPem`).
 */
export async function startPebble(ns: Netns, dir: string, opts: { address: string; target: string; httpPort: number; tlsPort: number }) {
  const bins = pebbleBinaries()!;
  const work = path.join(dir, 'pebble');
  fs.mkdirSync(work, { recursive: true });
  const f = (name: string) => path.join(work, name);
  const ssl = (args: string[]) => execFileSync('openssl', args, { cwd: work, stdio: 'pipe' });
  ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=idcflow test ACME listener CA']);
  ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'listener.key', '-out', 'listener.csr', '-subj', '/CN=pebble']);
  fs.writeFileSync(f('ext.cnf'), `subjectAltName=IP:${opts.address}\n`);
  ssl(['x509', '-req', '-in', 'listener.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'listener.pem', '-days', '1', '-extfile', 'ext.cnf']);
  fs.writeFileSync(f('pebble.json'), JSON.stringify({
    pebble: {
      listenAddress: `${opts.address}:14000`, managementListenAddress: `${opts.address}:15000`, certificate: f('listener.pem'), privateKey: f('listener.key'),
      httpPort: opts.httpPort, tlsPort: opts.tlsPort, ocspResponderURL: '', externalAccountBindingRequired: false,
    },
  }));
  const logs = { pebble: '', dns: '' };
  const dns = ns.spawn(bins.challtestsrv, ['-defaultIPv4', opts.target, '-defaultIPv6', '', '-dnsserver', `${opts.address}:8053`, '-doh', '', '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `${opts.address}:8055`]);
  for (const s of [dns.stdout!, dns.stderr!]) s.on('data', (b) => (logs.dns += b));
  // Never PEBBLE_VA_ALWAYS_VALID: the challenges are validated for real.
  const pebble = ns.spawn(bins.pebble, ['-config', f('pebble.json'), '-dnsserver', `${opts.address}:8053`], { ...process.env, PEBBLE_VA_NOSLEEP: '1' });
  for (const s of [pebble.stdout!, pebble.stderr!]) s.on('data', (b) => (logs.pebble += b));
  const directory = `https://${opts.address}:14000/dir`;
  const answers = (url: string) => ns.exec('curl', ['-sS', '-m', '2', '--cacert', f('ca.pem'), url]).catch(() => '');
  await eventually(async () => (await answers(directory)).includes('newOrder'), 15_000, 'Pebble\'s ACME directory');
  await eventually(async () => logs.dns.includes('Starting management server'), 15_000, 'pebble-challtestsrv');
  const issuingRootPem = await ns.exec('curl', ['-sS', '-m', '2', '--cacert', f('ca.pem'), `https://${opts.address}:15000/roots/0`]);
  fs.writeFileSync(f('issuing-root.pem'), issuingRootPem);
  return {
    directory, listenerCaPem: fs.readFileSync(f('ca.pem'), 'utf8'), issuingRootPem, issuingRootFile: f('issuing-root.pem'), logs,
    /** Makes `host` resolve to `address` instead (challtestsrv's mock A record). */
    setA: (host: string, address: string) => ns.exec('curl', ['-sS', '-m', '2', '-d', JSON.stringify({ host: `${host}.`, addresses: [address] }), `http://${opts.address}:8055/add-a`]),
  };
}

/**
 * pebble-challtestsrv alone, on loopback in the machine's own namespace (where workers run): a DNS server whose
 * records a test sets through its management API. Point a worker's IDCFLOW_DNS_RESOLVERS at `server`.
 */
export async function startChallDns() {
  const bins = pebbleBinaries()!;
  const [dnsPort, managementPort] = [await freePort(), await freePort()];
  const proc = spawn(bins.challtestsrv, [
    '-defaultIPv4', '', '-defaultIPv6', '', '-dnsserver', `127.0.0.1:${dnsPort}`, '-doh', '', '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${managementPort}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  for (const s of [proc.stdout!, proc.stderr!]) s.on('data', (b) => (log += b));
  await eventually(async () => log.includes('Starting management server'), 15_000, 'pebble-challtestsrv');
  const manage = async (path: string, body: Record<string, unknown>) => {
    const res = await fetch(`http://127.0.0.1:${managementPort}${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`challtestsrv ${path}: ${res.status} ${await res.text()}`);
  };
  const fqdn = (name: string) => (name.endsWith('.') ? name : `${name}.`);
  return {
    server: `127.0.0.1:${dnsPort}`,
    /** Sets the TXT record of `name` (replacing what it held). */
    setTxt: async (name: string, value: string) => {
      await manage('/clear-txt', { host: fqdn(name) });
      await manage('/set-txt', { host: fqdn(name), value });
    },
    clearTxt: (name: string) => manage('/clear-txt', { host: fqdn(name) }),
    setA: (name: string, address: string) => manage('/add-a', { host: fqdn(name), addresses: [address] }),
    stop: () => stopProcess(proc, 'SIGTERM', 5000),
  };
}
