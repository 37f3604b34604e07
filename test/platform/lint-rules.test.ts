import path from 'node:path';
import { spawnSync } from 'node:child_process';

const root = path.resolve(__dirname, '..', '..');

/** The project's real ESLint CLI and configuration, on a fixture passed through stdin. */
async function lint(code: string, file: string): Promise<string[]> {
  const run = spawnSync(process.execPath, [path.join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'), '--format', 'json', '--stdin', '--stdin-filename', path.join(root, file)], { cwd: root, input: code, encoding: 'utf8' });
  const [result] = JSON.parse(run.stdout) as Array<{ messages: Array<{ ruleId: string }> }>;
  return result.messages.map((m) => m.ruleId);
}

describe('lint keeps workflow code deterministic', () => {
  it('forbids Node built-ins, I/O libraries and timers in workflows/', async () => {
    const rules = await lint(
      "import fs from 'node:fs';\nimport knex from 'knex';\nexport const f = () => { setTimeout(() => fs.existsSync('x'), 1); return knex; };\n",
      'workflows/lint-fixture.ts',
    );
    expect(rules.filter((r) => r === 'no-restricted-imports')).toHaveLength(2);
    expect(rules).toContain('no-restricted-globals');
  });

  it('allows the same code in activities/ and flags floating promises everywhere', async () => {
    const rules = await lint("import fs from 'node:fs';\nexport async function f() { fs.promises.readFile('x'); }\n", 'activities/lint-fixture.ts');
    expect(rules).toEqual(['@typescript-eslint/no-floating-promises']);
  });
});

describe('lint keeps imports running down the layers', () => {
  it('refuses an activity importing the api, and a value (not a type) from workflows', async () => {
    const rules = await lint(
      "import { VERSION } from '../api/platform/status-routes';\nimport { deliverWebhookWorkflow } from '../workflows/webhooks/deliver';\nexport const f = [VERSION, deliverWebhookWorkflow];\n",
      'activities/lint-fixture.ts',
    );
    expect(rules.filter((r) => r === 'no-restricted-imports')).toHaveLength(2);
    const types = await lint("import type { deliverWebhookWorkflow } from '../workflows/webhooks/deliver';\nexport type F = typeof deliverWebhookWorkflow;\n", 'activities/lint-fixture.ts');
    expect(types).toEqual([]);
  });

  it('refuses shared/ importing any other layer and db/ importing activities, workflows or the api', async () => {
    const shared = await lint("import type { Knex } from 'knex';\nimport { createKnex } from '../db/knex';\nexport const f = (k: Knex) => [k, createKnex];\n", 'shared/lint-fixture.ts');
    expect(shared).toEqual(['no-restricted-imports']);
    const db = await lint("import type { EngineDriver } from '../activities/compute/engines/types';\nexport type D = EngineDriver;\n", 'db/lint-fixture.ts');
    expect(db).toEqual(['no-restricted-imports']);
  });
});
