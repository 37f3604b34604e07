import crypto from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure } from '@temporalio/activity';
import { IMAGE_NAME, type ImageFormat } from '../../../shared/compute/images';
import { run } from './libvirt-host';
import { BlockedAddressError, safeGet } from '../../webhooks/safe-request';
import type { ImageFetch, ImageInfo } from '../../../shared/compute/contracts';

const EXT: Record<ImageFormat, string> = { qcow2: '.qcow2', raw: '.img' };
const COMPANIONS = ['.kernel', '.initrd', '.cmdline'];
const invalid = (msg: string) => ApplicationFailure.nonRetryable(`images: ${msg}`, 'VALIDATION_ERROR');
const exists = (p: string) => fs.access(p).then(() => true, () => false);

/**
 * A host's directory of base images: <name>.qcow2 or <name>.img, each with a <file>.sha256 beside it (sha256sum's
 * format, so `sha256sum -c` reads it) written at upload or on the first listing, and rewritten when the image is newer.
 */
export class ImageDir {
  constructor(readonly dir: string) {}

  private file(name: string, format: ImageFormat) {
    if (!IMAGE_NAME.test(name) || name.includes('..')) throw invalid(`${JSON.stringify(name)} is not an image name`);
    return path.join(this.dir, `${name}${EXT[format]}`);
  }

  private async find(name: string): Promise<{ file: string; format: ImageFormat } | null> {
    for (const format of ['qcow2', 'raw'] as const) if (await exists(this.file(name, format))) return { file: this.file(name, format), format };
    return null;
  }

  async list(): Promise<ImageInfo[]> {
    const entries = await fs.readdir(this.dir).catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return [] as string[]; throw err; });
    const images: ImageInfo[] = [];
    for (const entry of entries.sort()) {
      const m = /^(.+)\.(qcow2|img)$/.exec(entry);
      if (!m || !IMAGE_NAME.test(m[1])) continue;
      const info = await this.describe(m[1], m[2] === 'qcow2' ? 'qcow2' : 'raw');
      if (info) images.push(info);
    }
    return images;
  }

  private async describe(name: string, format: ImageFormat): Promise<ImageInfo | null> {
    const file = this.file(name, format);
    const stat = await fs.stat(file).catch(() => null);
    if (!stat?.isFile()) return null;
    return {
      name, file: path.basename(file), format, size_bytes: stat.size, sha256: await this.checksum(file, stat.mtimeMs),
      modified_at: stat.mtime.toISOString(), kernel_boot: await exists(path.join(this.dir, `${name}.kernel`)),
    };
  }

  /** The sidecar's digest while it is not older than the image; else the image is read once and the sidecar rewritten. */
  private async checksum(file: string, mtimeMs: number): Promise<string> {
    const sidecar = `${file}.sha256`;
    const st = await fs.stat(sidecar).catch(() => null);
    if (st && st.mtimeMs >= mtimeMs) {
      const digest = /^([0-9a-f]{64})\b/.exec(await fs.readFile(sidecar, 'utf8'))?.[1];
      if (digest) return digest;
    }
    const hash = crypto.createHash('sha256');
    await pipeline(createReadStream(file), hash);
    const digest = hash.digest('hex');
    await fs.writeFile(sidecar, `${digest}  ${path.basename(file)}\n`, { mode: 0o644 });
    return digest;
  }

  /**
   * Streams `url` into the directory: at most maxBytes, its SHA-256 checked against the one given, its format checked
   * with qemu-img (a qcow2 may not name a backing file; a raw image must not be something else), then renamed into
   * place. A retry finds the image already there with the same checksum; another image of that name is a conflict.
   */
  async fetch(req: ImageFetch): Promise<ImageInfo> {
    const target = this.file(req.name, req.format);
    const present = await this.find(req.name);
    if (present) {
      const info = (await this.describe(req.name, present.format))!;
      if (present.format === req.format && info.sha256 === req.sha256) return info;
      throw ApplicationFailure.nonRetryable(`images: an image ${req.name} is already there (${info.file}); delete it first`, 'CONFLICT');
    }
    await fs.mkdir(this.dir, { recursive: true, mode: 0o755 });
    const part = path.join(this.dir, `.upload-${req.name}-${crypto.randomBytes(6).toString('hex')}.part`);
    try {
      // The same SSRF checks as webhook deliveries, at every redirect and when each socket connects.
      const res = await safeGet(req.url, { allowPrivate: req.allowPrivate ?? [], idleMs: 60_000 }).catch((err: Error) => {
        if (err instanceof BlockedAddressError) throw invalid(`${req.url} is refused: ${err.message}`);
        throw new Error(`images: ${req.url} could not be fetched: ${err.message}`);
      });
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        res.resume();
        throw ApplicationFailure.nonRetryable(`images: ${req.url} answered ${status}`, 'VALIDATION_ERROR');
      }
      const declared = Number(res.headers['content-length'] ?? NaN);
      if (declared > req.maxBytes) {
        res.destroy();
        throw invalid(`the image is ${declared} bytes, over the limit of ${req.maxBytes}`);
      }
      const hash = crypto.createHash('sha256');
      let bytes = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          bytes += chunk.length;
          if (bytes > req.maxBytes) return done(invalid(`the image is over the limit of ${req.maxBytes} bytes`));
          hash.update(chunk);
          done(null, chunk);
        },
      });
      await pipeline(res, meter, createWriteStream(part, { mode: 0o644 }));
      const digest = hash.digest('hex');
      if (digest !== req.sha256) throw invalid(`checksum mismatch: expected sha256 ${req.sha256}, the download has ${digest}`);
      await this.checkFormat(part, req.format);
      await fs.writeFile(`${target}.sha256`, `${digest}  ${path.basename(target)}\n`, { mode: 0o644 });
      await fs.rename(part, target);
    } finally {
      await fs.rm(part, { force: true });
    }
    return (await this.describe(req.name, req.format))!;
  }

  private async checkFormat(file: string, format: ImageFormat) {
    const info = JSON.parse((await run('qemu-img', ['info', '--output=json', file], { timeoutMs: 30_000 })).stdout) as { format: string; 'backing-filename'?: string };
    if (info.format !== format) throw invalid(`the file is ${info.format}, not ${format}`);
    if (info['backing-filename']) throw invalid('a qcow2 image with a backing file is refused (it could name any file on the host)');
  }

  /** Removes the image, its checksum and its kernel-boot companions; false when it was not there. */
  async remove(name: string): Promise<boolean> {
    const found = await this.find(name);
    for (const ext of COMPANIONS) await fs.rm(path.join(this.dir, `${name}${ext}`), { force: true });
    if (!found) return false;
    await fs.rm(`${found.file}.sha256`, { force: true });
    await fs.rm(found.file, { force: true });
    return true;
  }
}
