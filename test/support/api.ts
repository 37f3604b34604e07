import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../shared/platform/config';
import type { Knex } from 'knex';
import { Client, Connection } from '@temporalio/client';
import { temporalConnectionOptions } from '../../shared/platform/temporal-connection';
import { startApi } from '../../workers/api';
import { createKnex } from '../../db/knex';
import { apiDepsOn } from '../../workers/runtime';

// One database pool and one Temporal connection per test file: objection binds its models to one knex per process.
let shared: { knex: Knex; connection: Connection } | undefined;
function sharedResources() {
  shared ??= { knex: createKnex(process.env.DATABASE_URL!), connection: Connection.lazy(temporalConnectionOptions({ temporalAddress: process.env.TEMPORAL_ADDRESS! })) };
  return shared;
}
afterAll(async () => {
  if (!shared) return;
  await shared.connection.close();
  await shared.knex.destroy();
  shared = undefined;
});

export interface CallOptions {
  token?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface Answer<T = any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

export interface TestUser {
  id: number;
  username: string;
  password: string;
  token: string;
  refreshToken: string;
}

/** A client of an idcflow API at `url` (this process's or a spawned one): raw calls, logins, the admin, test users. */
export function apiClient(url: string) {
  async function call<T = any>(method: string, path: string, opts: CallOptions = {}): Promise<Answer<T>> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(url + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON (metrics, docs, downloads)
    }
    return { status: res.status, body: parsed as T, headers: res.headers, text };
  }

  async function login(username: string, password: string) {
    const res = await call('POST', '/api/v1/auth/login', { body: { username, password } });
    if (res.status !== 200) throw new Error(`login ${username} failed: ${res.status} ${res.text}`);
    return res.body.data as { access_token: string; refresh_token: string; expires_in: number };
  }

  let adminToken: string | undefined;
  async function admin() {
    adminToken ??= (await login('admin', process.env.IDCFLOW_ADMIN_PASSWORD!)).access_token;
    return adminToken;
  }

  async function createUser(role: 'admin' | 'manager' | 'user' | 'viewer' = 'user', extra: Record<string, unknown> = {}): Promise<TestUser> {
    const username = `${role}_${crypto.randomBytes(5).toString('hex')}`;
    const password = `pw-${crypto.randomBytes(8).toString('hex')}`;
    const res = await call('POST', '/api/v1/users', { token: await admin(), body: { username, password, email: `${username}@example.test`, role, ...extra } });
    if (res.status !== 201) throw new Error(`create user failed: ${res.status} ${res.text}`);
    const tokens = await login(username, password);
    return { id: res.body.data.id, username, password, token: tokens.access_token, refreshToken: tokens.refresh_token };
  }

  return { url, call, login, admin, createUser };
}

/** The real API, in this process, on a free port, against the suite's PostgreSQL and Temporal; tests talk to it over HTTP. */
export async function startTestApi(env: Record<string, string> = {}) {
  const config = loadConfig({ ...process.env, PORT: '0', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', ...env });
  const { knex, connection } = sharedResources();
  const temporal = new Client({ connection, namespace: config.temporalNamespace });
  const api = await startApi(config, apiDepsOn(config, knex, temporal));
  const url = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  return { ...apiClient(url), config, deps: api.deps, close: () => api.close() };
}

export type TestApi = Awaited<ReturnType<typeof startTestApi>>;

/** The native error envelope ({success: false, error: {code, message, details}, timestamp}), with the code expected. */
export function expectError(res: Answer, status: number, code: string) {
  expect({ status: res.status, success: res.body?.success, code: res.body?.error?.code }).toEqual({ status, success: false, code });
  expect(typeof res.body.timestamp).toBe('string');
}

/** Polls until `check` answers a truthy value. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 60_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * Checks that `check` stays true for `ms` (polled): for "exactly once", after the first arrival, so a second one that
 * a retry or a duplicate would bring has had the time to arrive.
 */
export async function holds(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!(await check())) throw new Error(`no longer true: ${what}`);
    if (Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}
