import http from 'node:http';

/**
 * HTTP from a chosen loopback source address (127.0.0.2, 127.0.0.3, …: every 127/8 address is this machine's), so a test
 * plays clients at several addresses against one API; with a cookie jar, as a browser keeps cookies.
 */
export interface FromAnswer<T = any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  status: number;
  headers: http.IncomingHttpHeaders;
  body: T;
  text: string;
}

export class ClientAt {
  readonly jar = new Map<string, string>();
  constructor(readonly localAddress: string, readonly base: string) {}

  request<T = any>(method: string, path: string, opts: { json?: unknown; form?: Record<string, string>; headers?: Record<string, string>; token?: string } = {}): Promise<FromAnswer<T>> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const url = new URL(path, this.base);
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    let body: string | undefined;
    if (opts.json !== undefined) { body = JSON.stringify(opts.json); headers['content-type'] = 'application/json'; }
    if (opts.form) { body = new URLSearchParams(opts.form).toString(); headers['content-type'] = 'application/x-www-form-urlencoded'; }
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (this.jar.size) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    return new Promise((resolve, reject) => {
      const req = http.request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers, localAddress: this.localAddress, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          for (const line of res.headers['set-cookie'] ?? []) {
            const [pair] = line.split(';');
            const i = pair.indexOf('=');
            this.jar.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
          }
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try { parsed = text ? JSON.parse(text) : null; } catch { /* HTML or text */ }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed as T, text });
        });
        res.on('error', reject);
      });
      req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${path} from ${this.localAddress}: no answer in 60 s`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** POST /api/v1/auth/login from this address (and with this client's cookies). */
  login(username: string, password: string) {
    return this.request('POST', '/api/v1/auth/login', { json: { username, password } });
  }
}
