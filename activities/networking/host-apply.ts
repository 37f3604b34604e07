import fs from 'node:fs';
import type { Knex } from 'knex';
import type { Config } from '../../shared/platform/config';
import type { Logger } from '../../shared/platform/logger';
import { NFT_TABLE, type HostNetworkState } from '../../shared/networking/desired';
import { duplicateKeys, foreignForwardDrops, nftDifferences, observedNft, renderNft, rulesFingerprint } from '../../shared/networking/nft';
import { canonicalJson, renderCaddy } from '../../shared/networking/caddy';
import { caddyAdmin, HostToolError, nftFailure, runTool } from './tools';
import { acmeRootsFile, caddyTlsLog, writeAcmeRoots } from './certificates';
import { countsOf, desiredState, isEmpty } from './host-state';
import { IN_FLIGHT_STATES } from '../../db/queries/networking/network-rows';
import { acmeInFlight } from '../../db/queries/networking/host-acme';
import { recordNetworkApply } from '../../db/queries/networking/network-applies';

/**
 * Applies a host's WHOLE desired network state on the host (nftables table `idcflow`, Caddy's config), and checks it
 * for drift. One apply at a time per host in this process, each reading the state inside the lock: an apply never
 * writes a state older than one already applied.
 */
export class HostNetwork {
  private queue: Promise<unknown> = Promise.resolve();
  /** The rules of our own table as we last applied them (constant per agent version), to notice edited rules. */
  private ruleFingerprint: string | null = null;
  /** The warnings last recorded, so that a drift check records a change of them (and only a change). */
  private lastWarnings: string[] = [];

  constructor(private readonly knex: Knex, private readonly config: Config, private readonly logger: Logger, readonly hostId: number) {}

  private get netns() { return this.config.networking.netns; }
  private get caddy() { return this.config.networking.caddy; }

  private locked<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Checks, before changing anything, that the proxy the state needs is there. nft needs no probe: `nft -f` is the first
   * change and is all-or-nothing, and a missing binary or missing rights fail it before anything is applied.
   */
  private async preflight(state: HostNetworkState) {
    if (state.proxies.length || this.caddy.adminSocket) {
      if (!this.caddy.adminSocket) throw new HostToolError('NOT_SUPPORTED', 'This host has no reverse proxy (the agent has no IDCFLOW_CADDY_ADMIN_SOCKET)');
      try {
        const r = await caddyAdmin(this.caddy.adminSocket, 'GET', '/config/');
        if (r.status !== 200) throw new Error(`answered ${r.status}`);
      } catch (err) {
        throw new HostToolError('SERVICE_UNAVAILABLE', `The reverse proxy (Caddy admin API at ${this.caddy.adminSocket}) is not answering: ${(err as Error).message}`);
      }
    }
    const dups = duplicateKeys(state);
    if (dups.length) throw new Error(`The desired state has duplicate keys: ${dups.join('; ')}`);
  }

  private caddyConfig(state: HostNetworkState) {
    const acme = state.acme && { ...state.acme, rootsFile: state.acme.caRootPem ? acmeRootsFile(this.config.dataDir, state.acme.caRootPem) : null };
    return renderCaddy(state.proxies, {
      adminSocket: this.caddy.adminSocket!, storageDir: this.caddy.storageDir, httpPort: this.caddy.httpPort, httpsPort: this.caddy.httpsPort,
      acme, tlsLog: caddyTlsLog(this.caddy.storageDir),
    });
  }

  private async write(state: HostNetworkState) {
    const r = await runTool('nft', ['-f', '-'], { netns: this.netns, input: renderNft(state) });
    if (r.code !== 0) throw nftFailure(r, '-f');
    await this.forgetFlows();
    if (this.caddy.adminSocket) {
      if (state.acme?.caRootPem) writeAcmeRoots(this.config.dataDir, state.acme.caRootPem);
      const load = await caddyAdmin(this.caddy.adminSocket, 'POST', '/load', this.caddyConfig(state));
      if (load.status !== 200) throw new Error(`Caddy refused the configuration (${load.status}): ${load.body.slice(0, 500)}`);
    }
    if (!this.ruleFingerprint) {
      const listed = await this.list();
      if (listed.complete) this.ruleFingerprint = rulesFingerprint(listed.observed.chains);
    }
  }

  /**
   * A removed forward or address stops matching new connections, but flows the kernel already tracks would keep their
   * translation (a UDP stream from the same port goes on): those of the rows being removed are deleted from conntrack.
   * Safe to repeat; without the conntrack tool the flows simply time out.
   */
  private async forgetFlows() {
    const leaving = await desiredState(this.knex, this.hostId, ['deleting']);
    const flows = [
      ...leaving.forwards.map((f) => ['-p', f.protocol, '--orig-dst', f.externalAddress, '--orig-port-dst', String(f.externalPort)]),
      ...leaving.oneToOne.flatMap((o) => {
        const family = o.publicAddress.includes(':') ? ['-f', 'ipv6'] : [];
        return [[...family, '--orig-dst', o.publicAddress], [...family, '--orig-src', o.internalAddress]];
      }),
    ];
    for (const args of flows) {
      try {
        await runTool('conntrack', ['-D', ...args], { netns: this.netns }); // exit 1 when no flow matched
      } catch (err) {
        if (err instanceof HostToolError) { this.logger.debug({ host: this.hostId }, 'conntrack is not installed: removed flows time out by themselves'); return; }
        throw err;
      }
    }
  }

  /** Both of idcflow's tables as listed (merged), and which of them are absent. */
  private async list() {
    const listings: unknown[] = [];
    const missing: string[] = [];
    for (const family of ['ip', 'ip6']) {
      const r = await runTool('nft', ['-j', 'list', 'table', family, NFT_TABLE], { netns: this.netns });
      if (r.code === 0) listings.push(...(JSON.parse(r.stdout).nftables ?? []));
      else if (/No such file or directory/.test(r.stderr)) missing.push(`table ${family} ${NFT_TABLE} is missing`);
      else throw nftFailure(r, 'list table');
    }
    return { observed: observedNft({ nftables: listings }), missing, complete: !missing.length };
  }

  /** Other tables' forward hooks that drop by default (see foreignForwardDrops); a listing failure is not an apply failure. */
  private async forwardWarnings(): Promise<string[]> {
    const r = await runTool('nft', ['-j', 'list', 'chains'], { netns: this.netns });
    if (r.code !== 0) return [];
    const warnings = foreignForwardDrops(JSON.parse(r.stdout));
    if (JSON.stringify(warnings) !== JSON.stringify(this.lastWarnings) && warnings.length) this.logger.warn({ host: this.hostId, warnings }, 'another table drops forwarded traffic by default');
    return warnings;
  }

  /** What differs on the host from the desired state (nothing when both are empty and the table is absent). */
  private async differences(state: HostNetworkState): Promise<string[]> {
    const inFlight = await desiredState(this.knex, this.hostId, IN_FLIGHT_STATES);
    const listed = await this.list();
    const diffs = listed.complete ? nftDifferences(listed.observed, state, this.ruleFingerprint, inFlight)
      : listed.missing.length === 2 && isEmpty(state) ? [] : listed.missing;
    // A proxy or the ACME settings being changed change the config under way: its check waits for the next round.
    if (this.caddy.adminSocket && !inFlight.proxies.length && !(await acmeInFlight(this.knex, this.hostId))) {
      const r = await caddyAdmin(this.caddy.adminSocket, 'GET', '/config/');
      if (r.status !== 200 || canonicalJson(JSON.parse(r.body || 'null')) !== canonicalJson(this.caddyConfig(state))) diffs.push('the reverse proxy configuration differs');
      if (state.acme?.caRootPem && !fs.existsSync(acmeRootsFile(this.config.dataDir, state.acme.caRootPem))) diffs.push('the ACME CA root file is missing');
    }
    return diffs;
  }

  private async record(reason: string, state: HostNetworkState, started: number, drift: string[] | null, warnings: string[]) {
    await recordNetworkApply(this.knex, {
      host_id: this.hostId, reason, corrected: Boolean(drift?.length), drift: drift ? JSON.stringify(drift) : null, warnings: warnings.length ? JSON.stringify(warnings) : null,
      counts: JSON.stringify(countsOf(state)), duration_ms: Math.round(performance.now() - started),
    });
    this.lastWarnings = warnings;
  }

  /** An operation's apply: the whole desired state, atomically; the same call again changes nothing. */
  apply(reason = 'operation') {
    return this.locked(async () => {
      const started = performance.now();
      const state = await desiredState(this.knex, this.hostId);
      await this.preflight(state);
      await this.write(state);
      const warnings = await this.forwardWarnings();
      await this.record(reason, state, started, null, warnings);
      return { ...countsOf(state), warnings };
    });
  }

  /** A drift check: re-applies only when the host differs, and records what it corrected. */
  reconcile(reason: 'start' | 'schedule') {
    return this.locked(async () => {
      const started = performance.now();
      const state = await desiredState(this.knex, this.hostId);
      const diffs = await this.differences(state);
      // The first check of a process also applies once, to learn the fingerprint of its own rules.
      if (!diffs.length && (this.ruleFingerprint || isEmpty(state))) {
        const warnings = await this.forwardWarnings();
        if (JSON.stringify(warnings) !== JSON.stringify(this.lastWarnings)) await this.record('warning', state, started, null, warnings);
        return { corrected: [] as string[] };
      }
      await this.preflight(state);
      await this.write(state);
      await this.record(reason, state, started, diffs, await this.forwardWarnings());
      if (diffs.length) this.logger.warn({ host: this.hostId, drift: diffs }, 'network drift corrected');
      return { corrected: diffs };
    });
  }
}

/** One HostNetwork per host per process (the agent serves one host). */
const hosts = new Map<number, HostNetwork>();
export function hostNetwork(knex: Knex, config: Config, logger: Logger, hostId: number): HostNetwork {
  let h = hosts.get(hostId);
  if (!h) hosts.set(hostId, (h = new HostNetwork(knex, config, logger, hostId)));
  return h;
}
