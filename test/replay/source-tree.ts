import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import releases from './releases.json';

/** The repository's root, where its .git, node_modules and .tools are. */
export const ROOT = path.resolve(__dirname, '..', '..');

export interface Release { version: string; date: string; commit: string }

/** The releases so far, oldest first (test/replay/releases.json; CHANGELOG.md says what each one brought). */
export const RELEASES: Release[] = releases;

/** The release this code follows: the one a deploy of this code replaces while operations run. */
export function previousRelease(): Release {
  return RELEASES[RELEASES.length - 1];
}

/** Why an older commit's source cannot be had here (no git, or a clone without that commit), or null. */
export function sourceUnavailable(commit: string): string | null {
  const git = spawnSync('git', ['-C', ROOT, 'cat-file', '-e', `${commit}^{commit}`], { encoding: 'utf8' });
  if (git.error) return `git is not installed (${git.error.message})`;
  if (git.status !== 0) return `commit ${commit} is not in this clone (a shallow clone or an export without history): ${git.stderr.trim()}`;
  return null;
}

/**
 * The committed source of `commit` in a fresh folder (git archive, no work tree registered), with this repository's
 * node_modules and .tools linked in: an older release's code that runs beside this one against the same services.
 */
export function extractSourceTree(commit: string, prefix = 'idcflow-release-'): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const archive = path.join(dir, '.source.tar');
  execFileSync('git', ['-C', ROOT, 'archive', '--format=tar', '-o', archive, commit]);
  execFileSync('tar', ['-xf', archive, '-C', dir]);
  fs.rmSync(archive);
  for (const linked of ['node_modules', '.tools']) {
    if (fs.existsSync(path.join(ROOT, linked))) fs.symlinkSync(fs.realpathSync(path.join(ROOT, linked)), path.join(dir, linked));
  }
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
