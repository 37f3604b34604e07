import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { MANIFEST_FILE, unsafeMemberPath, type Manifest, type ManifestPart } from '../../shared/availability/backups';

export const sha256File = async (file: string) => {
  const hash = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
};

/** Every regular file under `dir`, as paths relative to it (links and other special files are left out). */
export async function regularFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(path.join(dir, rel), { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw err;
  }
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const child = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await regularFiles(dir, child)));
    else if (e.isFile()) out.push(child);
  }
  return out;
}

/** The manifest's parts for the files staged in `dir`: path, size and SHA-256 of each. */
export async function describeParts(dir: string, files: string[]): Promise<ManifestPart[]> {
  const parts: ManifestPart[] = [];
  for (const f of files) {
    const full = path.join(dir, f);
    parts.push({ path: f, size: (await fs.promises.stat(full)).size, sha256: await sha256File(full) });
  }
  return parts;
}

/** Packs the staged files with the manifest first into a tar.gz written beside `file`, then moved into place. */
export async function packArchive(stagingDir: string, files: string[], file: string): Promise<void> {
  const partial = `${file}.partial`;
  // The parts are compressed already (custom-format dump, zip user backups): gzip's fastest level keeps the archive a .tar.gz without paying twice.
  await tar.c({ gzip: { level: 1 }, portable: true, cwd: stagingDir, file: partial, noDirRecurse: true }, [MANIFEST_FILE, ...files]);
  await fs.promises.rename(partial, file);
}

export class ArchiveRefused extends Error {
  constructor(message: string, readonly details: Record<string, unknown>) {
    super(message);
  }
}

/**
 * Reads the whole archive once without writing anything: refuses members that are not plain files or folders or whose
 * paths could leave the target (absolute, `..`), then checks every file against the manifest's SHA-256 and size, and
 * that the manifest lists every file. Answers the manifest.
 */
export async function verifyArchive(file: string): Promise<Manifest> {
  const seen = new Map<string, { size: number; sha256: string }>();
  const problems: string[] = [];
  let manifestText = '';
  const hashing: Promise<void>[] = [];
  try {
    await tar.t({
      file,
      strict: true,
      onReadEntry: (entry) => {
        const name = entry.path;
        const unsafe = unsafeMemberPath(name);
        if (unsafe) problems.push(`${JSON.stringify(name)}: ${unsafe}`);
        else if (entry.type !== 'File' && entry.type !== 'Directory') problems.push(`${JSON.stringify(name)}: ${entry.type} entries are refused`);
        if (entry.type !== 'File') { entry.resume(); return; }
        const hash = crypto.createHash('sha256');
        const chunks: Buffer[] = [];
        let size = 0;
        hashing.push(new Promise((resolve, reject) => {
          entry.on('data', (c: Buffer) => { hash.update(c); size += c.length; if (name === MANIFEST_FILE && size < 10_000_000) chunks.push(c); });
          entry.on('end', () => {
            if (name === MANIFEST_FILE) manifestText = Buffer.concat(chunks).toString('utf8');
            if (seen.has(name)) problems.push(`${JSON.stringify(name)}: appears twice`);
            seen.set(name, { size, sha256: hash.digest('hex') });
            resolve();
          });
          entry.on('error', reject);
        }));
      },
    });
    await Promise.all(hashing);
  } catch (err) {
    throw new ArchiveRefused(`The archive cannot be read: ${(err as Error).message}`, { reason: 'unreadable' });
  }
  if (problems.length) throw new ArchiveRefused(`The archive holds paths or entries that could leave the target: ${problems.slice(0, 5).join('; ')}`, { reason: 'unsafe_paths', problems: problems.slice(0, 20) });
  let manifest: Manifest;
  try {
    manifest = JSON.parse(manifestText) as Manifest;
    if (!Array.isArray(manifest.parts)) throw new Error('no parts');
  } catch {
    throw new ArchiveRefused('The archive has no readable manifest', { reason: 'no_manifest' });
  }
  const mismatched: string[] = [];
  for (const part of manifest.parts) {
    const got = seen.get(part.path);
    if (!got) mismatched.push(`${part.path}: missing`);
    else if (got.sha256 !== part.sha256 || got.size !== part.size) mismatched.push(`${part.path}: SHA-256 or size differs from the manifest`);
  }
  const listed = new Set(manifest.parts.map((p) => p.path));
  for (const name of seen.keys()) if (name !== MANIFEST_FILE && !listed.has(name)) mismatched.push(`${name}: not in the manifest`);
  if (mismatched.length) throw new ArchiveRefused(`The archive does not match its manifest: ${mismatched.slice(0, 5).join('; ')}`, { reason: 'checksum_mismatch', parts: mismatched.slice(0, 20) });
  for (const part of manifest.parts) if (unsafeMemberPath(part.path)) throw new ArchiveRefused(`The manifest names an unsafe path: ${part.path}`, { reason: 'unsafe_paths' });
  return manifest;
}

/** Extracts a verified archive into an empty folder: plain files and folders only, paths kept inside it. */
export async function extractArchive(file: string, dir: string): Promise<void> {
  await fs.promises.rm(dir, { recursive: true, force: true });
  await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
  await tar.x({
    file, cwd: dir, strict: true, preserveOwner: false,
    filter: (p, entry) => !unsafeMemberPath(p) && 'type' in entry && (entry.type === 'File' || entry.type === 'Directory'),
  });
}

/**
 * Copies one staged file into `targetDir` without leaving it: the resolved path and its real parent must be inside
 * the target, and a link already at the destination is replaced rather than followed.
 */
export async function placeInside(targetDir: string, rel: string, source: string): Promise<string> {
  const root = await fs.promises.realpath(targetDir);
  const dest = path.resolve(root, rel);
  if (!dest.startsWith(root + path.sep)) throw new ArchiveRefused(`${rel} would leave ${targetDir}`, { reason: 'unsafe_paths' });
  await fs.promises.mkdir(path.dirname(dest), { recursive: true });
  const parent = await fs.promises.realpath(path.dirname(dest));
  if (parent !== root && !parent.startsWith(root + path.sep)) throw new ArchiveRefused(`${rel} would leave ${targetDir} through a link`, { reason: 'unsafe_paths' });
  const tmp = `${dest}.restoring-${process.pid}`;
  await fs.promises.copyFile(source, tmp);
  await fs.promises.rename(tmp, dest); // rename replaces a link at dest instead of writing through it
  return dest;
}
