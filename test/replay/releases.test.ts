import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pkg from '../../package.json';
import { startTestApi, type TestApi } from '../support/api';
import { RELEASES, ROOT, sourceUnavailable } from './source-tree';

/** Releases: CHANGELOG.md, test/replay/releases.json, package.json, the status route and the git tags say the same. */
const changelog = fs.readFileSync(path.join(ROOT, 'CHANGELOG.md'), 'utf8');
const headings = [...changelog.matchAll(/^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$/gm)].map((m) => ({ version: m[1], date: m[2] }));

describe('releases', () => {
  it('lists in the changelog an Unreleased section, then every release of releases.json, newest first, with its date', () => {
    expect(headings[0]).toEqual({ version: 'Unreleased', date: undefined });
    expect(headings.slice(1)).toEqual([...RELEASES].reverse().map((r) => ({ version: r.version, date: r.date })));
    expect(RELEASES.every((r) => /^\d+\.\d+\.\d+$/.test(r.version) && /^[0-9a-f]{40}$/.test(r.commit))).toBe(true);
  });

  it('gives package.json the version of the last release', () => {
    expect(pkg.version).toBe(RELEASES[RELEASES.length - 1].version);
  });

  describe('through the API', () => {
    let api: TestApi;
    beforeAll(async () => { api = await startTestApi(); });
    afterAll(async () => { await api.close(); });

    it('answers the version on the status routes', async () => {
      const health = await api.call('GET', '/api/v1/status/health');
      expect(health.body.data).toMatchObject({ status: 'healthy', version: pkg.version });
      const detailed = await api.call('GET', '/api/v1/status/health/detailed', { token: await api.admin() });
      expect(detailed.body.data.version).toBe(pkg.version);
    });
  });

  const unavailable = RELEASES.map((r) => sourceUnavailable(r.commit)).find(Boolean);
  const gitIt = unavailable && process.env.CI !== 'true' ? it.skip : it;
  gitIt(`has each release's commit in this history, and any tag v<version> on it${unavailable ? ` (${unavailable})` : ''}`, () => {
    if (unavailable) throw new Error(`cannot check under CI: ${unavailable}`);
    for (const r of RELEASES) {
      expect({ version: r.version, ancestor: spawnSync('git', ['-C', ROOT, 'merge-base', '--is-ancestor', r.commit, 'HEAD']).status }).toEqual({ version: r.version, ancestor: 0 });
      const tag = spawnSync('git', ['-C', ROOT, 'rev-parse', '--verify', '--quiet', `refs/tags/v${r.version}^{commit}`], { encoding: 'utf8' });
      if (tag.status === 0) expect({ tag: `v${r.version}`, commit: tag.stdout.trim() }).toEqual({ tag: `v${r.version}`, commit: r.commit });
    }
  });
});
