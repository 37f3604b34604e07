import type { Knex } from 'knex';
import type { Config } from '../../shared/platform/config';
import type { Logger } from '../../shared/platform/logger';
import { hostNetwork } from './host-apply';
import { HostToolError } from './tools';
import { refreshCertificates } from './certificates';

/**
 * The agent's drift loop: checks its host's network against the desired state at start and every
 * IDCFLOW_NETWORK_RECONCILE_SECONDS, re-applies when it differs and records the correction (network_applies). A host
 * without nftables, or with nothing desired and no table, is left alone. Each check also records the TLS proxies'
 * certificates as Caddy's storage and log show them.
 */
export function startNetworkReconciler(config: Config, knex: Knex, logger: Logger, hostId: number) {
  const net = hostNetwork(knex, config, logger, hostId);
  let unsupportedLogged = false;
  let running: Promise<unknown> = Promise.resolve();
  const check = (reason: 'start' | 'schedule') => {
    running = net.reconcile(reason).then(async (r) => {
      if (r.corrected.length) logger.warn({ host: hostId, corrected: r.corrected }, 'network state re-applied');
      if (config.networking.caddy.adminSocket) await refreshCertificates(knex, hostId, config.networking.caddy.storageDir);
    }).catch((err) => {
      if (err instanceof HostToolError && err.code === 'NOT_SUPPORTED') {
        if (!unsupportedLogged) logger.info({ host: hostId, reason: err.message }, 'networking not supported on this host; drift checks skipped');
        unsupportedLogged = true;
        return;
      }
      logger.warn({ host: hostId, err: (err as Error).message }, 'network drift check failed');
    });
    return running;
  };
  void check('start');
  const timer = config.networking.reconcileSeconds > 0 ? setInterval(() => void check('schedule'), config.networking.reconcileSeconds * 1000) : null;
  return {
    /** Runs one check now (tests and the start-up). */
    check,
    async stop() {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
