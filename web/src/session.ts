import { createIdcflowClient, unwrap, followOperation, type Credentials, type IdcflowClient, type Operation } from '../../client';

export interface User { id: number; username: string; role: string; permissions: string[]; email: string | null }

/**
 * The signed-in session. Tokens live in memory only (a reload signs out): nothing for a script injected into another
 * page of this origin to find in storage. The client refreshes an expired access token once with the refresh token.
 */
export class Session {
  readonly client: IdcflowClient = createIdcflowClient({ baseUrl: location.origin });
  user: User | null = null;

  get isAdmin() { return Boolean(this.user?.permissions.includes('*') || this.user?.permissions.includes('admin')); }
  /** Admins and managers: who runs the network services (BGP, IPv6 pools, WireGuard servers). */
  get isManager() { return this.isAdmin || this.user?.role === 'manager'; }
  /** Admins, managers and viewers: who the API shows monitoring (metrics and alerts) to. */
  get isOperator() { return this.isAdmin || this.user?.role === 'manager' || this.user?.role === 'viewer'; }

  async login(username: string, password: string): Promise<User> {
    const data = unwrap(await this.client.api.POST('/api/v1/auth/login', { body: { username, password } }));
    this.client.setCredentials({ access_token: data.access_token, refresh_token: data.refresh_token } satisfies Credentials);
    this.user = data.user;
    return data.user;
  }

  async logout() {
    const refresh = this.client.credentials?.refresh_token;
    await this.client.api.POST('/api/v1/auth/logout', { body: { refresh_token: refresh } }).catch(() => undefined);
    this.client.setCredentials(undefined);
    this.user = null;
  }

  /** GET of any API path; the answer's `data`, or an ApiError. */
  async get<T = unknown>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  async request<T = unknown>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    const answer = await this.client.api.request(method.toLowerCase() as 'get', path as never, { ...(body === undefined ? {} : { body }), ...(headers ? { headers } : {}) } as never);
    return unwrap(answer as never) as T;
  }

  follow(id: string, onProgress: (op: Operation) => void, signal?: AbortSignal) {
    return followOperation(this.client, id, onProgress, signal);
  }
}

export const session = new Session();
export type { Operation };
