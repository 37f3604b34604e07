import path from 'node:path';
import { spawn } from 'node:child_process';

export const ROOT = path.join(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'bin', 'idcflow.js');

/** The environment of the CLI as a user would run it: its config in `home`, the API at `url`. */
export const cliEnv = (home: string, url: string, env: Record<string, string> = {}) =>
  ({ ...process.env, IDCFLOW_CLI_CONFIG: path.join(home, 'idcflow', 'config.json'), IDCFLOW_URL: url, ...env });

/** Runs the CLI (bin/idcflow.js) with `input` on its standard input, to its end. */
export function runCli(home: string, url: string, args: string[], input = '', env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv(home, url, env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}
