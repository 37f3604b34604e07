import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Provider from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';
import { freePort } from '../workers/embedded-services';
import { load, startStack, type LoadResult } from './support';

type Json = { data: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * User data and the OAuth provider, each against a ceiling measured in the same run:
 *  1. The token endpoint (client credentials, client_secret_basic): idcflow's provider (PostgreSQL adapter, hashed
 *     secrets, clients read from oauth_clients) against the same library bare on Koa (in-memory adapter, one static client).
 *  2. GET /api/user_data?key= (API token, seed 004 answer) against a bare Koa endpoint reading the same row.
 */
async function main() {
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const port = await freePort();
  const stack = await startStack({ PORT: String(port) });
  const servers: Array<{ close(): void }> = [];
  try {
    const post = async (path: string, body: unknown, token?: string) => {
      const res = await fetch(stack.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
      return ((await res.json()) as Json).data;
    };
    const jwt = (await post('/api/v1/auth/login', { username: 'admin', password: 'bench-admin-password' })).access_token as string;
    const apiToken = (await post('/api/v1/tokens', { name: 'bench' }, jwt)).token as string;
    const client = await post('/api/v1/oauth/clients', { name: 'bench', allowed_grant_types: ['client_credentials'], scopes: ['read'] }, jwt);
    const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`;

    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const bare = new Provider('http://127.0.0.1/bare', {
      clients: [{ client_id: 'bench', client_secret: 'bench-secret', grant_types: ['client_credentials'], redirect_uris: [], response_types: [], scope: 'read' }],
      jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'k', alg: 'RS256', use: 'sig' }] },
      features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
      scopes: ['read'],
    });
    const bareProvider = bare.listen(0, '127.0.0.1');
    servers.push(bareProvider);
    await new Promise((r) => bareProvider.once('listening', r));
    const form = { method: 'POST' as const, body: 'grant_type=client_credentials&scope=read' };
    const oauth: LoadResult[] = [];
    oauth.push(await load('oidc-provider bare on Koa, in-memory (ceiling)', `http://127.0.0.1:${(bareProvider.address() as AddressInfo).port}/token`, {
      ...form, seconds, headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('bench:bench-secret').toString('base64')}` },
    }));
    oauth.push(await load('idcflow POST /oauth/token (client credentials)', `${stack.url}/oauth/token`, { ...form, seconds, headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic } }));

    await post('/api/user_data', { api_token: apiToken, key: 'profile', value: { nickname: '测试用户', avatar: 'avatar.jpg' } });
    const admin = await stack.knex('users').where({ username: 'admin' }).first('id');
    const rowReader = new Koa().use(async (ctx) => {
      const row = await stack.knex('user_data').where({ user_id: admin.id, key: 'profile' }).first();
      ctx.body = { data: row, message: '获取成功' };
    }).listen(0, '127.0.0.1');
    servers.push(rowReader);
    await new Promise((r) => rowReader.once('listening', r));
    const data: LoadResult[] = [];
    data.push(await load('bare Koa reading the same row (ceiling)', `http://127.0.0.1:${(rowReader.address() as AddressInfo).port}/`, { seconds }));
    data.push(await load('GET /api/user_data?key=profile (API token)', `${stack.url}/api/user_data?key=profile`, { seconds, headers: { authorization: `Bearer ${apiToken}` } }));

    for (const [title, rows] of [['Token endpoint', oauth], ['User data read', data]] as const) {
      console.log(`\n${title} (autocannon, 10 connections, ${seconds} s each)`);
      console.log('| endpoint | req/s | p50 ms | p99 ms | errors | share of ceiling |\n|---|---|---|---|---|---|');
      for (const r of rows) console.log(`| ${r.name} | ${r.requestsPerSecond} | ${r.p50ms} | ${r.p99ms} | ${r.errors} | ${(r.requestsPerSecond / rows[0].requestsPerSecond).toFixed(2)} |`);
    }
  } finally {
    for (const s of servers) s.close();
    await stack.stop();
  }
}

main().then(() => process.exit(0)).catch((err) => {
  console.error(err);
  process.exit(1);
});
