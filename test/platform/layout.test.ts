import fs from 'node:fs';
import path from 'node:path';
import { registerActivities } from '../../activities/registry';
import { MAIN_WORKER_ACTIVITIES, HOST_AGENT_ACTIVITIES } from '../../activities';
import type { ActivityDeps } from '../../activities/platform/deps';

const root = path.resolve(__dirname, '..', '..');
const tsFiles = (dir: string): string[] => fs.readdirSync(path.join(root, dir), { withFileTypes: true })
  .flatMap((e) => (e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
const deps = { knex: {}, config: {}, logger: {} } as unknown as ActivityDeps;

describe('the layout keeps its rules', () => {
  it('refuses an activity name registered by two domains, naming both', () => {
    const a = () => ({ syncThing: async () => 1 });
    const b = () => ({ syncThing: async () => 2 });
    expect(() => registerActivities({ first: [a], second: [b] }, deps)).toThrow('Activity "syncThing" is registered by both the first and the second domain');
    expect(Object.keys(registerActivities({ first: [a] }, deps))).toEqual(['syncThing']);
  });

  it('registers every domain\'s activities without a clash, for the worker and for host agents', () => {
    for (const domains of [MAIN_WORKER_ACTIVITIES, HOST_AGENT_ACTIVITIES]) {
      const names = Object.values(domains).flatMap((factories) => factories.flatMap((f: (d: ActivityDeps) => object) => Object.keys(f(deps))));
      expect(new Set(names).size).toBe(names.length);
    }
  });

  it('gives services no Koa context and starts no workflow by a string name', () => {
    const offenders: string[] = [];
    for (const file of [...tsFiles('api'), ...tsFiles('workers'), ...tsFiles('activities'), ...tsFiles('bench')]) {
      const text = fs.readFileSync(path.join(root, file), 'utf8');
      const isRouteLayer = /(^|\/)(routes|token-routes|status-routes|compat-[\w-]+|app|console-page|caller|credentials|index)\.ts$/.test(file) || file.includes('api/platform/http/');
      if (!isRouteLayer && !file.startsWith('bench/') && /Koa\.Context|from 'koa'/.test(text)) offenders.push(`${file}: Koa context outside the route layer`);
      if (/workflow\.(start|execute|signalWithStart)\(\s*'/.test(text) || /workflowType:\s*'/.test(text)) offenders.push(`${file}: workflow started by name`);
    }
    expect(offenders).toEqual([]);
  });

  it('gives every domain a folder of its name in every layer', () => {
    for (const domain of ['platform', 'users', 'compute', 'dbsync', 'networking', 'netservices', 'rentals', 'availability', 'system', 'logs', 'webhooks', 'monitoring']) {
      for (const layer of ['api', 'workflows', 'activities', 'test']) expect(fs.existsSync(path.join(root, layer, domain))).toBe(true);
    }
    // The users table came with the platform (authentication needs it); the other domains have migrations of their own.
    for (const domain of ['platform', 'compute', 'dbsync', 'networking', 'netservices', 'rentals', 'availability', 'system', 'logs', 'webhooks', 'monitoring']) {
      expect(fs.readdirSync(path.join(root, 'db', 'migrations')).some((f) => new RegExp(`^\\d{3}_${domain}(_\\w+)?\\.ts$`).test(f))).toBe(true);
    }
  });
});
