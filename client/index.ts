import createClient from 'openapi-fetch';
import type { paths } from './schema';

export type { paths };

/** Access and refresh tokens from /auth/login (or an API token alone, which never needs refreshing). */
export interface Credentials {
  access_token: string;
  refresh_token?: string;
}

export interface ClientOptions {
  baseUrl: string;
  credentials?: Credentials;
  /** Called with the new pair after a refresh, so that the caller can keep it. */
  onRefresh?: (credentials: Credentials) => void | Promise<void>;
  fetch?: typeof fetch;
}

/** An answer that was not a success: the native envelope's code, message and details. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details: Record<string, unknown> = {}) {
    super(message);
  }
}

/**
 * The typed client. Requests carry the access token; an expired one is exchanged once for a new pair with the refresh
 * token (rotation) and the request is sent again.
 */
export function createIdcflowClient(options: ClientOptions) {
  const baseFetch = options.fetch ?? fetch;
  let credentials = options.credentials;
  let refreshing: Promise<boolean> | null = null;

  const refresh = async (): Promise<boolean> => {
    if (!credentials?.refresh_token) return false;
    const res = await baseFetch(`${options.baseUrl}/api/v1/auth/refresh`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: credentials.refresh_token }),
    });
    if (!res.ok) return false;
    const { data } = (await res.json()) as { data: Credentials };
    credentials = { access_token: data.access_token, refresh_token: data.refresh_token };
    await options.onRefresh?.(credentials);
    return true;
  };

  const authorizedFetch = async (input: Request): Promise<Response> => {
    const send = (req: Request) => {
      if (credentials) req.headers.set('authorization', `Bearer ${credentials.access_token}`);
      return baseFetch(req);
    };
    const retry = input.clone();
    const res = await send(input);
    if (res.status !== 401 || !credentials?.refresh_token) return res;
    refreshing ??= refresh().finally(() => { refreshing = null; });
    return (await refreshing) ? send(retry) : res;
  };

  const api = createClient<paths>({ baseUrl: options.baseUrl, fetch: authorizedFetch });
  return {
    api,
    get credentials() { return credentials; },
    setCredentials(next: Credentials | undefined) { credentials = next; },
  };
}

export type IdcflowClient = ReturnType<typeof createIdcflowClient>;

type DataOf<A> = NonNullable<A> extends { data: infer D } ? D : unknown;

/** The `data` of a successful answer's envelope, or an ApiError with the envelope's code. */
export function unwrap<A extends { data?: unknown; error?: unknown; response: Response }>(answer: A): DataOf<A['data']> {
  if (answer.response.ok) return (answer.data as { data: DataOf<A['data']> }).data;
  const err = (answer.error as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined)?.error;
  throw new ApiError(answer.response.status, err?.code ?? `HTTP_${answer.response.status}`, err?.message ?? answer.response.statusText, err?.details);
}

type OperationView = paths['/api/v1/operations/{id}']['get']['responses'][200]['content']['application/json']['data'];
export type Operation = OperationView;
export const TERMINAL_STATUSES = ['succeeded', 'failed', 'canceled'] as const;

/**
 * Follows an operation until it ends, calling `onProgress` whenever its progress changes. Uses the long poll with a
 * short timeout, so progress arrives within a second and an ended operation at once.
 */
export async function followOperation(client: IdcflowClient, id: string, onProgress?: (op: Operation) => void, signal?: AbortSignal): Promise<Operation> {
  let last = '';
  for (;;) {
    signal?.throwIfAborted();
    const op: Operation = unwrap(await client.api.GET('/api/v1/operations/{id}/wait', { params: { path: { id }, query: { timeout: 1 } }, signal }));
    const seen = JSON.stringify(op.progress) + op.status;
    if (seen !== last) onProgress?.(op);
    last = seen;
    if ((TERMINAL_STATUSES as readonly string[]).includes(op.status)) return op;
  }
}
