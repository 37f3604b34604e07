import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { stopProcess, type Spawned } from '../support/processes';
import { extractSourceTree, previousRelease, sourceUnavailable, type Release } from './source-tree';

/**
 * The previous release's source (test/replay/releases.json), extracted from git beside this checkout, whose
 * entrypoints run against the suite's PostgreSQL and Temporal: the workers and API a rolling upgrade replaces.
 */
export interface PreviousRelease {
  release: Release;
  dir: string;
  /** Starts `entry` (workers/worker.ts, workers/api.ts) of that release and waits for `readyLine`. */
  spawn(entry: string, env: NodeJS.ProcessEnv, readyLine: string | RegExp, timeoutMs?: number): Promise<Spawned>;
  /** Runs `entry` of that release to its end (workers/migrate.ts); rejects with its output when it fails. */
  run(entry: string, env: NodeJS.ProcessEnv): Promise<string>;
  remove(): void;
}

/** Why the previous release cannot run here, or null. */
export function previousReleaseUnavailable(): string | null {
  const why = sourceUnavailable(previousRelease().commit);
  return why && `the previous release v${previousRelease().version}'s source: ${why}`;
}

export function openPreviousRelease(): PreviousRelease {
  const release = previousRelease();
  const tree = extractSourceTree(release.commit, `idcflow-v${release.version}-`);
  const argv = (entry: string) => ['--import', 'tsx', entry];
  return {
    release,
    dir: tree.dir,
    remove: tree.remove,
    async spawn(entry, env, readyLine, timeoutMs = 180_000) {
      const proc = spawn(process.execPath, argv(entry), { cwd: tree.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`v${release.version} ${entry} not ready in ${timeoutMs} ms:\n${out.slice(-3000)}`)), timeoutMs);
        const onData = (chunk: Buffer) => {
          out = (out + chunk.toString()).slice(-200_000);
          if (typeof readyLine === 'string' ? out.includes(readyLine) : readyLine.test(out)) {
            clearTimeout(timer);
            resolve();
          }
        };
        proc.stdout.on('data', onData);
        proc.stderr.on('data', onData);
        proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`v${release.version} ${entry} exited (${code}) before ready:\n${out.slice(-3000)}`)); });
      });
      return { proc, output: () => out, stop: (signal: NodeJS.Signals = 'SIGTERM') => stopProcess(proc, signal) };
    },
    async run(entry, env) {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, argv(entry), { cwd: tree.dir, env, timeout: 180_000 });
      return stdout + stderr;
    },
  };
}
