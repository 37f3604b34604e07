import fs from 'node:fs';
import path from 'node:path';

/**
 * Suites that need something this machine may lack (root, Podman, chromium, libvirt, a tool). On a developer's machine
 * such a suite is skipped and says why; under CI (`CI=true`, which .ci/run exports) it fails, naming the suite and the
 * reason, so a green CI run means every suite ran for real. A reason is a sentence, or null when the suite can run.
 */
export const underCi = () => /^(1|true|yes)$/i.test(process.env.CI ?? '');

/** The first reason given (checks are evaluated in order, so a later one may assume the earlier passed), or null. */
export function firstReason(...checks: Array<string | null | (() => string | null)>): string | null {
  for (const check of checks) {
    const reason = typeof check === 'function' ? check() : check;
    if (reason) return reason;
  }
  return null;
}

/** Why `tools` cannot be used: the ones missing from the PATH (and sbin), with how to get them; null when all are there. */
export function missingTools(tools: string[], install: string): string | null {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).concat(['/usr/sbin', '/sbin']);
  const missing = tools.filter((tool) => !dirs.some((dir) => isExecutable(path.join(dir, tool))));
  return missing.length ? `${missing.join(', ')} not installed (${install})` : null;
}

/** Why a suite needing root cannot run, or null. */
export const needsRoot = (what: string): string | null => (process.getuid?.() === 0 ? null : `${what} need root (CI runs as root)`);

/** `describe` when `reason` is null; otherwise skipped with the reason, or under CI a failing test naming both. */
export function describeIfRunnable(reason: string | null, name: string, body: () => void): void {
  if (!reason) {
    describe(name, body);
  } else if (underCi()) {
    describe(name, () => {
      test('can run on this machine', () => {
        throw new Error(`"${name}" cannot run here, and CI=true does not allow a skip: ${reason}`);
      });
    });
  } else {
    console.warn(`skipped "${name}": ${reason}`);
    describe.skip(`${name} (skipped: ${reason})`, body);
  }
}

/** `it` when `reason` is null; otherwise skipped with the reason, or under CI a failing test naming both. */
export function itIfRunnable(reason: string | null, name: string, fn: jest.ProvidesCallback, timeout?: number): void {
  if (!reason) {
    it(name, fn, timeout);
  } else if (underCi()) {
    it(name, () => {
      throw new Error(`"${name}" cannot run here, and CI=true does not allow a skip: ${reason}`);
    });
  } else {
    console.warn(`skipped "${name}": ${reason}`);
    it.skip(`${name} (skipped: ${reason})`, fn, timeout);
  }
}

/**
 * A suite against a server the project's machines cannot run at all (no package, no reachable image registry): it runs
 * only when `variable` names one, and is skipped otherwise, under CI too, saying which variable to set. Use it for
 * nothing that CI could install.
 */
export function describeIfGiven(variable: string, why: string, name: string, body: () => void): void {
  if (process.env[variable]) {
    describe(name, body);
  } else {
    console.warn(`skipped "${name}": ${why}; set ${variable} to run it`);
    describe.skip(`${name} (skipped: ${why}; set ${variable})`, body);
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
