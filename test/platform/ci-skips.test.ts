import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';

/**
 * A suite that cannot run here is a skip with its reason on a developer's machine and a failure naming the suite and
 * the reason under CI=true (test/support/environment.ts): a jest of its own runs ci-skips.fixture.ts with `wg` hidden
 * from the PATH and the global set-up's Podman reported down, with and without CI, then with both present.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const config = JSON.stringify({
  rootDir: ROOT, roots: ['<rootDir>/test/platform'], testMatch: ['<rootDir>/test/platform/ci-skips.fixture.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest'] }, testEnvironment: 'node', haste: { forceNodeFilesystemAPI: true },
});
const PODMAN_DOWN = 'podman system service exited: cannot set up the network';
let bin: string;

beforeAll(() => {
  bin = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-ci-skips-'));
  fs.writeFileSync(path.join(bin, 'wg'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
});
afterAll(() => fs.rmSync(bin, { recursive: true, force: true }));

/** The fixture under jest with `env` over a bare environment (PATH without the machine's bin folders): exit code and output. */
function jest(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [require.resolve('jest/bin/jest'), '--config', config, '--verbose'], {
    cwd: ROOT, env: { HOME: process.env.HOME, PATH: path.join(bin, 'empty'), ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

describe('a suite that cannot run here', () => {
  it('fails under CI=true, naming the suite and what is missing', async () => {
    const { code, output } = await jest({ CI: 'true', IDCFLOW_TEST_DOCKER_SKIP: PODMAN_DOWN });
    expect(code).toBe(1);
    expect(output).toContain('"a suite that drives wg" cannot run here, and CI=true does not allow a skip: wg not installed (apt-get install wireguard-tools)');
    expect(output).toContain(`"a suite on the suite's Podman" cannot run here, and CI=true does not allow a skip: ${PODMAN_DOWN}`);
    expect(output).toMatch(/Tests:\s+2 failed, 2 total/);
  });

  it('is skipped with its reason on a developer\'s machine', async () => {
    const { code, output } = await jest({ IDCFLOW_TEST_DOCKER_SKIP: PODMAN_DOWN });
    expect(code).toBe(0);
    expect(output).toContain('skipped "a suite that drives wg": wg not installed (apt-get install wireguard-tools)');
    expect(output).toContain(`skipped "a suite on the suite's Podman": ${PODMAN_DOWN}`);
    expect(output).toMatch(/Tests:\s+2 skipped, 2 total/);
  });

  it('runs, under CI=true too, once what it needs is there', async () => {
    const { code, output } = await jest({ CI: 'true', PATH: bin, IDCFLOW_TEST_DOCKER_SOCKET: path.join(bin, 'podman.sock') });
    expect(output).toMatch(/Tests:\s+2 passed, 2 total/);
    expect(code).toBe(0);
  });
});
