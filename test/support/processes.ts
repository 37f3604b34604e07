import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../../workers/embedded-services';

const ROOT = path.resolve(__dirname, '..', '..');

/** Signals a child and waits for it to exit, killing it outright after `graceMs`. */
export async function stopProcess(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface Spawned {
  proc: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts a TypeScript entrypoint of this repository as a real child process and waits for `readyLine` on its output.
 * `wrap` runs it through another command that execs it (e.g. `ip netns exec <ns>`), so the child is still the entrypoint.
 */
export async function spawnEntrypoint(entry: string, args: string[], env: NodeJS.ProcessEnv, readyLine: string | RegExp, timeoutMs = 180_000, wrap: string[] = []): Promise<Spawned> {
  const argv = [process.execPath, '--import', 'tsx', path.join(ROOT, entry), ...args];
  const proc = spawn(wrap[0] ?? argv[0], [...wrap.slice(1), ...(wrap.length ? argv : argv.slice(1))], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} not ready in ${timeoutMs} ms:\n${out.slice(-3000)}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      out = (out + chunk.toString()).slice(-200_000);
      if (typeof readyLine === 'string' ? out.includes(readyLine) : readyLine.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${entry} exited (${code}) before ready:\n${out.slice(-3000)}`)); });
  });
  return {
    proc,
    output: () => out,
    stop: (signal: NodeJS.Signals = 'SIGTERM') => stopProcess(proc, signal),
  };
}

/** A real worker process on its own task queue, with extra environment (fault injection, SMTP…). */
export function spawnWorker(taskQueue: string, extraEnv: NodeJS.ProcessEnv = {}) {
  return spawnEntrypoint('workers/worker.ts', [], { ...process.env, LOG_LEVEL: 'info', IDCFLOW_TASK_QUEUE: taskQueue, ...extraEnv }, 'worker polling');
}

/** A real API process (workers/api.ts) on a free port, with extra environment; `url` is where it answers. */
export async function spawnApi(extraEnv: NodeJS.ProcessEnv = {}): Promise<Spawned & { url: string }> {
  const port = await freePort();
  const spawned = await spawnEntrypoint('workers/api.ts', [], { ...process.env, LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: String(port), ...extraEnv }, 'idcflow API listening');
  return { ...spawned, url: `http://127.0.0.1:${port}` };
}
