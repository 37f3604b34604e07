import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { derperRootfsTar, ensureDerper, importDerperImage } from '../../workers/derper-image';
import type { TestApi } from './api';
import { eventually } from './api';

/** An admin's batch of serial codes of `days` days. */
export async function generateCodes(api: TestApi, days: number, count = 1, extra: Record<string, unknown> = {}, token?: string) {
  const res = await api.call('POST', '/api/v1/rentals/serial-batches', { token: token ?? await api.admin(), body: { days, count, ...extra } });
  if (res.status !== 201) throw new Error(`generate codes failed: ${res.status} ${res.text}`);
  return res.body.data as { batch: { id: number }; codes: string[] };
}

export async function redeem(api: TestApi, token: string, body: Record<string, unknown>) {
  const res = await api.call('POST', '/api/v1/rentals/redeem', { token, body });
  if (res.status !== 200) throw new Error(`redeem failed: ${res.status} ${res.text}`);
  return res.body.data.rental as { id: number; uuid: string; status: string; port: number | null; workflow_id: string; expires_at: string };
}

/** Waits until the rental's row shows `status` (and the predicate, if any), and returns the row. */
export async function rentalIn(api: TestApi, id: number, status: string, timeoutMs = 90_000, also: (r: Record<string, any>) => boolean = () => true) { // eslint-disable-line @typescript-eslint/no-explicit-any
  return eventually(async () => {
    const r = await api.deps.knex('rentals').where({ id }).first();
    return r && r.status === status && also(r) ? r : null;
  }, timeoutMs, `rental ${id} ${status}`);
}

/** A real SMTP server on loopback that keeps what it receives (quoted-printable bodies decoded). */
export async function startSmtp() {
  const received: Array<{ to: string; subject: string; body: string }> = [];
  const smtp = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (c: Buffer) => { raw += c.toString(); });
      stream.on('end', () => {
        const body = raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
        received.push({ to: session.envelope.rcptTo.map((r) => r.address).join(','), subject: /^Subject: (.*)$/m.exec(raw)?.[1]?.trim() ?? '', body });
        callback();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
  const port = (smtp.server.address() as AddressInfo).port;
  return { url: `smtp://127.0.0.1:${port}`, received, close: () => new Promise<void>((r) => smtp.close(() => r())) };
}

/** The derper image in the suite's Podman: a prebuilt derper (a CI cache) when there is one, else built once from the Go module proxy. */
export async function derperImageForTests(): Promise<string> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-derper-test-'));
  const tar = derperRootfsTar(ensureDerper(['/work/cache/bin/derper'], () => undefined), work);
  return importDerperImage('podman', tar, undefined, { ...process.env, CONTAINERS_CONF: process.env.IDCFLOW_TEST_CONTAINERS_CONF });
}
