import type Router from '@koa/router';
import { createApp } from '../../api/app';
import { literalSegments } from '../../api/platform/http/route-index';
import { startTestApi, type TestApi } from '../support/api';

let api: TestApi;
let routers: Router[];
beforeAll(async () => {
  api = await startTestApi();
  const app = createApp(api.deps);
  routers = [...new Set(app.middleware.map((m) => (m as unknown as { router?: Router }).router).filter((r): r is Router => !!r))];
});
afterAll(async () => { await api.close(); });

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'get'];

/** Concrete paths a route's pattern matches (params filled in, optional parts with and without), and near misses. */
function pathsFor(pattern: string): string[] {
  const filled = (p: string, value: string) => p.replace(/:\w+/g, value).replace(/\*\w+/g, 'a/b');
  const shapes = [pattern.replace(/[{}]/g, ''), pattern.replace(/\{[^}]*\}/g, '')];
  const out = new Set<string>();
  for (const shape of shapes) {
    for (const value of ['42', 'abc', 'x.y', '%20']) {
      const p = filled(shape, value);
      out.add(p);
      out.add(`${p}/`);
      out.add(p.toUpperCase());
      out.add(`${p}/extra`);
      out.add(p.replace(/\/[^/]*$/, ''));
      out.add(p.replace(/^\/api/, '/API'));
      out.add(p.replace(/\//g, '//'));
    }
  }
  return [...out].filter((p) => p.startsWith('/'));
}

describe('routes matched through the index', () => {
  it('finds the same layers, in the same order, as trying every route', () => {
    expect(routers.length).toBeGreaterThanOrEqual(2);
    let compared = 0;
    for (const router of routers) {
      const scanAll = Object.getPrototypeOf(router).match as Router['match'];
      const paths = new Set<string>(['/', '', '/api', '/api/v1', '/api/v1/', '/nothing/here', '/İ/api/v1/users', '/api/v1/users\u212a']);
      for (const layer of router.stack) if (typeof layer.path === 'string') for (const p of pathsFor(layer.path)) paths.add(p);
      for (const path of paths) {
        for (const method of METHODS) {
          const indexed = router.match(path, method);
          const all = scanAll.call(router, path, method);
          expect({ path, method, layers: indexed.path.map((l) => l.path), route: indexed.route, run: indexed.pathAndMethod.map((l) => l.path) })
            .toEqual({ path, method, layers: all.path.map((l) => l.path), route: all.route, run: all.pathAndMethod.map((l) => l.path) });
          expect(indexed.pathAndMethod).toEqual(all.pathAndMethod);
          compared += 1;
        }
      }
    }
    expect(compared).toBeGreaterThan(10_000);
  });

  it('files a layer under the segments every path it matches starts with', () => {
    const layer = (path: string, opts: Record<string, unknown> = {}) => ({ path, opts }) as unknown as Router['stack'][number];
    expect(literalSegments(layer('/api/v1/users/:id'))).toEqual(['api', 'v1', 'users']);
    expect(literalSegments(layer('/API/v1/Auth/me'))).toEqual(['api', 'v1', 'auth', 'me']);
    expect(literalSegments(layer('/api/v1/users/'))).toEqual(['api', 'v1', 'users']);
    expect(literalSegments(layer('/api/export/download/export_:stamp.:fmt'))).toEqual(['api', 'export', 'download']);
    expect(literalSegments(layer('/users{/:id}'))).toEqual([]);
    expect(literalSegments(layer('/api/v1/things', { end: false }))).toEqual(['api', 'v1']);
    expect(literalSegments(layer('/api/(.*)', { pathAsRegExp: true }))).toEqual([]);
    expect(literalSegments(layer(/^\/api/ as unknown as string))).toEqual([]);
  });

  it('answers routes with their params, 405 with Allow, and 404 through the API', async () => {
    const admin = await api.admin();
    const me = await api.call('GET', '/api/v1/auth/me', { token: admin });
    const byId = await api.call('GET', `/API/V1/users/${me.body.data.id}/`, { token: admin });
    expect(byId.status).toBe(200);
    expect(byId.body.data.id).toBe(me.body.data.id);
    const wrongMethod = await api.call('PATCH', '/api/v1/auth/me', { token: admin });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toContain('GET');
    expect((await api.call('GET', '/api/v1/no/such/route', { token: admin })).status).toBe(404);
  });
});
