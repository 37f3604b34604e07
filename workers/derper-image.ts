import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';

/** Tailscale's DERP relay, built from the Go module proxy (v1.104+ needs a newer Go than Debian 12 machines have). */
export const DERPER_VERSION = '1.102.5';
export const DERPER_IMAGE = `localhost/idcflow-derper:${DERPER_VERSION}`;
const MODULE = `tailscale.com/cmd/derper@v${DERPER_VERSION}`;

const cacheDir = () => path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'idcflow', `derper-${DERPER_VERSION}`);

const isExecutable = (file: string) => {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
};

const onPath = (name: string) => (process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, name)).find((f) => isExecutable(f));

/** The derper binary: one of `prebuilt` (e.g. a CI cache), the project's .tools/bin, the build cache; else built once into the cache. */
export function ensureDerper(prebuilt: string[] = [], log: (m: string) => void = console.log): string {
  const found = [...prebuilt, path.resolve(__dirname, '..', '.tools', 'bin', 'derper'), path.join(cacheDir(), 'derper')].find(isExecutable);
  if (found) return found;
  const go = onPath('go');
  if (!go) throw new Error(`Go is needed to build derper: go install ${MODULE} (or put a derper binary in .tools/bin)`);
  log(`Building derper ${DERPER_VERSION} from the Go module proxy into ${cacheDir()} (once; about a minute)…`);
  const started = Date.now();
  const result = spawnSync(go, ['install', MODULE], { env: { ...process.env, GOBIN: cacheDir(), CGO_ENABLED: '0' }, stdio: ['ignore', 'inherit', 'inherit'] });
  const binary = path.join(cacheDir(), 'derper');
  if (result.status !== 0 || !isExecutable(binary)) throw new Error(`Building derper failed (exit ${result.status})`);
  log(`Built ${binary} in ${Math.round((Date.now() - started) / 1000)} s`);
  return binary;
}

/** A root filesystem holding only the static derper binary (and a state directory), as a tar file. */
export function derperRootfsTar(binary: string, workDir: string): string {
  const rootfs = path.join(workDir, 'derper-rootfs');
  for (const d of ['tmp', 'var/lib/derper', 'etc']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.copyFileSync(binary, path.join(rootfs, 'derper'));
  fs.chmodSync(path.join(rootfs, 'derper'), 0o755);
  fs.writeFileSync(path.join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/:/derper\n');
  const tar = path.join(workDir, 'derper-rootfs.tar');
  execFileSync('tar', ['-C', rootfs, '-cf', tar, '.']);
  return tar;
}

/** Imports the image into Podman or Docker (`tool import`): the same tar loads on a real host with `docker import`. */
export function importDerperImage(tool: string, tar: string, image = DERPER_IMAGE, env: NodeJS.ProcessEnv = process.env): string {
  execFileSync(tool, ['import', tar, image], { env, stdio: 'pipe' });
  return image;
}

// `npm run derper:image [-- podman|docker]`: build (or find) derper, then import the image into the local engine.
// `-- --binary-only`: only build (or find) the binary, e.g. to warm CI's cache.
if (require.main === module) {
  if (process.argv.includes('--binary-only')) {
    console.log(ensureDerper());
    process.exit(0);
  }
  const tool = process.argv[2] ?? (onPath('docker') ? 'docker' : 'podman');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-derper-'));
  const tar = derperRootfsTar(ensureDerper(), work);
  console.log(`${importDerperImage(tool, tar)} imported with ${tool} (rootfs tar: ${tar})`);
}
