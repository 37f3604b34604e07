/**
 * npm run histories:record -- [--ref <commit|tag>] [--label <name>] [--add] [--plan <file>] [test paths…]
 *
 * Records workflow histories for the replay tests (test/replay/replay.test.ts): runs test files of the committed code at
 * `--ref` (default HEAD; a release commit from test/replay/releases.json records that release) against a real
 * PostgreSQL, Temporal dev server and worker, exactly as the suite does, and keeps per workflow type and outcome up to
 * two histories of different shapes as test/replay/histories/<workflowType>-<label>-<status>[-n].json.
 *
 * The label defaults to v<version> for a release commit, else the commit's short id. Recording a label again replaces
 * that label's files only (--add keeps them, to record a label in several shorter runs): never re-record to make a
 * failing replay pass (see docs/upgrades.md).
 * The test files default to test/replay/record-plan.json (its paths exist in this release's tree; give older layouts
 * their paths on the command line). Nothing is written when a history holds something that looks like a secret.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HISTORY_DIR, findSecrets, loadHistories, registeredWorkflowTypes } from '../test/replay/histories';
import { RELEASES, ROOT, extractSourceTree, sourceUnavailable } from '../test/replay/source-tree';

function parseArgs(argv: string[]) {
  const opts: { ref: string; label?: string; add: boolean; plan: string; tests: string[] } = { ref: 'HEAD', add: false, plan: path.join(ROOT, 'test/replay/record-plan.json'), tests: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--ref') opts.ref = argv[++i];
    else if (a === '--label') opts.label = argv[++i];
    else if (a === '--add') opts.add = true;
    else if (a === '--plan') opts.plan = argv[++i];
    else if (a === '--help' || a === '-h') {
      process.stdout.write(fs.readFileSync(__filename, 'utf8').split('*/')[0] + '*/\n');
      process.exit(0);
    } else opts.tests.push(a);
  }
  return opts;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--verify', `${opts.ref}^{commit}`], { encoding: 'utf8' }).trim();
  const why = sourceUnavailable(commit);
  if (why) throw new Error(why);
  const release = RELEASES.find((r) => r.commit === commit);
  const label = opts.label ?? (release ? `v${release.version}` : commit.slice(0, 7));
  if (!/^[A-Za-z0-9.+_]+(?:-[A-Za-z0-9.+_]+)*$/.test(label) || /-(completed|failed|canceled|terminated|timed-out)$/.test(label)) throw new Error(`label ${label}: letters, digits, dots and dashes, not ending in an outcome`);
  const tests = opts.tests.length ? opts.tests : (JSON.parse(fs.readFileSync(opts.plan, 'utf8')) as string[]);

  const tree = extractSourceTree(commit, 'idcflow-record-');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-histories-'));
  try {
    // The recording teardown of this checkout, in the recorded tree, where it ends with that tree's own teardown.
    fs.mkdirSync(path.join(tree.dir, 'test/replay'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'test/replay/record-teardown.ts'), path.join(tree.dir, 'test/replay/record-teardown.ts'));
    process.stdout.write(`recording ${label} (${commit.slice(0, 12)}) from ${tests.length} test paths in ${tree.dir}\n`);
    const teardown = path.join(tree.dir, 'test/replay/record-teardown.ts');
    const jest = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/jest/bin/jest.js'), '--globalTeardown', teardown, ...tests], {
      cwd: tree.dir, stdio: 'inherit',
      // The extracted tree has no .git: tests that read the history (the rolling upgrade) use this repository's.
      env: { ...process.env, GIT_DIR: execFileSync('git', ['-C', ROOT, 'rev-parse', '--absolute-git-dir'], { encoding: 'utf8' }).trim(), IDCFLOW_RECORD_HISTORIES_DIR: out, IDCFLOW_RECORD_HISTORIES_LABEL: label },
    });
    // Failing tests still leave real histories of this code; they are kept, and the failure said.
    if (jest.status !== 0) process.stdout.write(`jest exited ${jest.status ?? jest.signal}: the histories of what ran are kept; check the failures above\n`);

    const recorded = loadHistories(out);
    if (!recorded.length) throw new Error('no history was recorded');
    const leaks = recorded.flatMap((h) => findSecrets(h.history).map((s) => `${h.file}: ${s}`));
    if (leaks.length) throw new Error(`not written: histories that look like they hold secrets:\n${leaks.join('\n')}`);

    fs.mkdirSync(HISTORY_DIR, { recursive: true });
    if (!opts.add) for (const old of loadHistories().filter((h) => h.label === label)) fs.rmSync(path.join(HISTORY_DIR, old.file));
    for (const h of recorded) fs.copyFileSync(path.join(out, h.file), path.join(HISTORY_DIR, h.file));

    const types = new Set(recorded.map((h) => h.workflowType));
    const covered = new Set(loadHistories().map((h) => h.workflowType));
    process.stdout.write(`${recorded.length} histories of ${types.size} workflow types written to ${path.relative(ROOT, HISTORY_DIR)} as *-${label}-*.json\n`);
    const missing = registeredWorkflowTypes().filter((t) => !covered.has(t));
    if (missing.length) process.stdout.write(`registered workflow types still without any history: ${missing.join(', ')}\n`);
  } finally {
    tree.remove();
    fs.rmSync(out, { recursive: true, force: true });
  }
}

main();
