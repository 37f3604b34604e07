/** Reaching a Docker Engine API (endpoint options) and reading its answers (errors, states, a console's pid line). */
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/activity';
import type { InstanceState } from '../../../shared/compute/catalogue';

export interface DockerEndpoint {
  address: string;
  username?: string | null;
  password?: string | null;
  privateKey?: string | null;
  tlsCa?: string | null;
  tlsCert?: string | null;
  tlsKey?: string | null;
  /**
   * A network every container of the host joins (the host's `options.network`: the operator's own, whose isolation is
   * theirs, and where pool addresses are set as static addresses). Unset: each tenant gets a network of its own.
   */
  network?: string | null;
  /** Host option `tenant_networks: false`: containers join the engine's default network (no per-tenant networks). */
  tenantNetworks?: boolean;
  /** Host option `allow_net_raw: true`: containers keep CAP_NET_RAW (dropped by default: no raw sockets, no spoofed frames). */
  allowNetRaw?: boolean;
  /** The idcflow host this endpoint belongs to: its containers are labelled with it, and a scan skips other hosts' containers on a shared engine. */
  hostName?: string;
}

/** dockerode options for unix://, tcp:// (TLS when certificates are given), http(s):// and ssh:// endpoints. */
export function dockerOptions(ep: DockerEndpoint): Docker.DockerOptions {
  const a = ep.address;
  if (a.startsWith('/') || a.startsWith('unix://')) return { socketPath: a.replace(/^unix:\/\//, '') };
  const url = new URL(a.includes('://') ? a : `tcp://${a}`);
  const host = url.hostname;
  if (url.protocol === 'ssh:') {
    return {
      protocol: 'ssh', host, port: Number(url.port || 22), username: decodeURIComponent(url.username) || ep.username || 'root',
      sshOptions: { ...(ep.password ? { password: ep.password } : {}), ...(ep.privateKey ? { privateKey: ep.privateKey } : {}) },
    } as Docker.DockerOptions;
  }
  const tls = url.protocol === 'https:' || Boolean(ep.tlsCa || ep.tlsCert);
  return {
    protocol: tls ? 'https' : 'http', host, port: Number(url.port || (tls ? 2376 : 2375)),
    ...(ep.tlsCa ? { ca: ep.tlsCa } : {}), ...(ep.tlsCert ? { cert: ep.tlsCert } : {}), ...(ep.tlsKey ? { key: ep.tlsKey } : {}),
  };
}

export const statusCode = (err: unknown) => (err as { statusCode?: number }).statusCode;

/** Engine errors: 404 and 409 are facts about the instance; 4xx/5xx answers from the engine are not worth retrying; network errors are. */
export const PID_MARKER = 'idcflow-console-pid:';

/** Reads the shell's first line ("idcflow-console-pid:<n>") off the terminal and leaves the rest unread. */
export function readPidLine(stream: Duplex, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const finish = (err: Error | null, pid?: number) => {
      clearTimeout(timer);
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      if (err) reject(err);
      else resolve(pid!);
    };
    const onEnd = () => finish(new Error('the shell ended at once'));
    const onReadable = () => {
      for (let chunk: Buffer | null; (chunk = stream.read() as Buffer | null) !== null;) {
        buf = Buffer.concat([buf, chunk]);
        const nl = buf.indexOf(10);
        if (nl < 0) continue;
        const match = new RegExp(`^${PID_MARKER}(\\d+)\\r?$`).exec(buf.subarray(0, nl).toString('utf8'));
        if (nl + 1 < buf.length) stream.unshift(buf.subarray(nl + 1));
        return finish(match ? null : new Error(`unexpected first line ${JSON.stringify(buf.subarray(0, Math.min(nl, 80)).toString('utf8'))}`), Number(match?.[1]));
      }
      if (buf.length > 4096) finish(new Error('no pid line'));
    };
    const timer = setTimeout(() => finish(new Error('timed out')), timeoutMs);
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
  });
}

export function engineFailure(action: string, err: unknown): Error {
  const code = statusCode(err);
  const msg = `Docker ${action} failed: ${(err as Error).message}`.slice(0, 1000);
  if (code === 404) return ApplicationFailure.nonRetryable(msg, 'RESOURCE_NOT_FOUND');
  if (code === 409) return ApplicationFailure.nonRetryable(msg, 'CONFLICT');
  if (code && code >= 400) return ApplicationFailure.nonRetryable(msg, 'ENGINE_ERROR');
  return new Error(msg);
}

export function stateOf(s: { Status?: string; Running?: boolean; Paused?: boolean } | string | undefined): InstanceState {
  const status = typeof s === 'string' ? s : s?.Status;
  switch (status) {
    case 'running': return 'running';
    case 'paused': return 'suspended';
    case 'created': case 'exited': case 'stopped': case 'configured': return 'stopped';
    case 'restarting': return 'running';
    case 'removing': return 'deleting';
    case 'dead': return 'error';
    default: return 'unknown';
  }
}

/** The name a container is renamed to while an update recreates it (see update()). */
