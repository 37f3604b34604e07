import http from 'node:http';
import { spawn } from 'node:child_process';

export interface ToolResult { code: number | null; stdout: string; stderr: string }

/** Why a host cannot apply networking: NOT_SUPPORTED (the tool is missing) or SERVICE_UNAVAILABLE (no rights, proxy down). */
export class HostToolError extends Error {
  constructor(readonly code: 'NOT_SUPPORTED' | 'SERVICE_UNAVAILABLE', message: string) { super(message); }
}

/** Runs a host tool (inside network namespace `netns` when the agent is told to), feeding `input` on stdin. */
export function runTool(cmd: string, args: string[], opts: { netns?: string; input?: string } = {}): Promise<ToolResult> {
  const [bin, argv] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const p = spawn(bin, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b) => (stdout += b));
    p.stderr.on('data', (b) => (stderr += b));
    p.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new HostToolError('NOT_SUPPORTED', `${bin} is not installed on this host`) : err));
    p.on('close', (code) => {
      // `ip netns exec` says so when the command itself is missing.
      if (opts.netns && code !== 0 && /exec of ".*" failed: No such file/.test(stderr)) reject(new HostToolError('NOT_SUPPORTED', `${cmd} is not installed on this host`));
      else resolve({ code, stdout, stderr });
    });
    p.stdin.on('error', () => undefined); // EPIPE when the tool exits before reading
    p.stdin.end(opts.input ?? '');
  });
}

/** An nft failure as the API says it: missing rights are the agent's environment, anything else a refused ruleset. */
export function nftFailure(r: ToolResult, what: string): Error {
  if (/Operation not permitted/.test(r.stderr)) return new HostToolError('SERVICE_UNAVAILABLE', `The agent may not change nftables on this host (it needs root or CAP_NET_ADMIN): ${r.stderr.trim().split('\n')[0]}`);
  return new Error(`nft ${what} failed (exit ${r.code}): ${r.stderr.trim().slice(0, 500)}`);
}

/**
 * Caddy's admin API on its unix socket. Caddy 2.6 accepts only an empty Host header there, and Node sends
 * `localhost` unless told not to set one.
 */
export function caddyAdmin(socketPath: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request({
      socketPath, method, path, setHost: false, timeout: 30_000,
      headers: { host: '', 'content-type': 'application/json', ...(data ? { 'content-length': data.length } : {}) },
    }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('timeout', () => req.destroy(new Error('Caddy admin API did not answer within 30 s')));
    req.on('error', reject);
    req.end(data);
  });
}
