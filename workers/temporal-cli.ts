import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';

/** v1.5.1 is the newest tag `go install` accepts; later tags carry a replace directive. */
export const TEMPORAL_CLI_VERSION = '1.5.1';
const MODULE = `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`;

const cacheDir = () =>
  path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'idcflow', `temporal-${TEMPORAL_CLI_VERSION}`);

const projectToolsBin = () => path.resolve(__dirname, '..', '.tools', 'bin', 'temporal');

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The first `temporal` found: TEMPORAL_CLI_PATH, the PATH, the project's .tools/bin, then the build cache. */
export function findTemporalCli(): string | undefined {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  return [onPath('temporal'), projectToolsBin(), path.join(cacheDir(), 'temporal')].find((f) => f && isExecutable(f));
}

/** Builds the CLI from the Go module proxy into the cache. Returns its path, or undefined when Go is missing or the build fails. */
export function buildTemporalCli(log: (msg: string) => void = console.log): string | undefined {
  const go = onPath('go');
  if (!go) return undefined;
  const dir = cacheDir();
  fs.mkdirSync(dir, { recursive: true });
  log(`Building the Temporal CLI ${TEMPORAL_CLI_VERSION} from the Go module proxy into ${dir} (once; several minutes)…`);
  const started = Date.now();
  const result = spawnSync(go, ['install', '-ldflags', `-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`, MODULE], {
    env: { ...process.env, GOBIN: dir, CGO_ENABLED: '0' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const binary = path.join(dir, 'temporal');
  if (result.status !== 0 || !isExecutable(binary)) {
    log(`Building the Temporal CLI failed (exit ${result.status}).`);
    return undefined;
  }
  log(`Built ${binary} in ${Math.round((Date.now() - started) / 1000)} s`);
  return binary;
}

export const TEMPORAL_CLI_HELP = [
  'No Temporal CLI could be found or built. Do one of:',
  '  - install Go (1.22+) so idcflow can build it: go install github.com/temporalio/cli/cmd/temporal@v1.5.1',
  '  - put a `temporal` binary on the PATH, or set TEMPORAL_CLI_PATH to one',
  '  - or point idcflow at an existing Temporal server with TEMPORAL_ADDRESS=host:7233',
].join('\n');

export function temporalCliVersion(binary: string): string {
  return execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
}

if (require.main === module) {
  const found = findTemporalCli() ?? buildTemporalCli();
  if (!found) {
    console.error(TEMPORAL_CLI_HELP);
    process.exit(1);
  }
  console.log(`${found} (${temporalCliVersion(found)})`);
}
