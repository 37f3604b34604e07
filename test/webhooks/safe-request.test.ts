import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestApi, eventually, type TestApi } from '../support/api';
import { uniq } from '../support/compute';
import { spawnEntrypoint, type Spawned } from '../support/processes';
import { BlockedAddressError, safePost } from '../../activities/webhooks/safe-request';
import { startReceiver } from './support';

/**
 * activities/webhooks/safe-request.ts: where a delivery connects is checked when it connects, not when the endpoint was
 * saved, and a redirect is an answer, never followed. The end-to-end case runs the worker in its own mount namespace with
 * an /etc/hosts of its own, so a name that did not resolve when the API saved it resolves to loopback at delivery time
 * (DNS rebinding, made deterministic).
 */
const rebindSkip = process.getuid?.() !== 0 ? 'a private /etc/hosts for the worker needs a mount namespace, so root (CI runs as root)' : null;
if (rebindSkip) test.skip(`webhook DNS rebinding test skipped: ${rebindSkip}`, () => undefined);

const queue = uniq('webhooks-ssrf');
const rebound = `${uniq('rebind')}.idcflow.test`;
const webhookEnv = { IDCFLOW_WEBHOOK_RETRY_SECONDS: '0.2', IDCFLOW_TASK_QUEUE: queue };
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let api: TestApi;
let worker: Spawned | undefined;
let hostsDir: string;
beforeAll(async () => {
  receiver = await startReceiver();
  api = await startTestApi(webhookEnv);
  if (rebindSkip) return;
  hostsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-hosts-'));
  const hosts = path.join(hostsDir, 'hosts');
  fs.writeFileSync(hosts, `${fs.readFileSync('/etc/hosts', 'utf8')}\n127.0.0.1 ${rebound}\n`);
  const wrap = ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', hosts];
  worker = await spawnEntrypoint('workers/worker.ts', [], { ...process.env, LOG_LEVEL: 'info', ...webhookEnv }, 'worker polling', 180_000, wrap);
});
afterAll(async () => {
  await worker?.stop();
  await api?.close();
  await receiver?.close();
  if (hostsDir) fs.rmSync(hostsDir, { recursive: true, force: true });
});

const port = () => new URL(receiver.url).port;
const reached = (prefix: string) => receiver.received.filter((r) => r.path.startsWith(prefix));

describe('safe webhook requests (SSRF at connection time, no redirects)', () => {
  it('refuses a name that resolves to a private address when the socket connects; nothing reaches the receiver', async () => {
    await expect(safePost(`http://localhost:${port()}/named/a`, {}, '{}', false, 5000)).rejects.toBeInstanceOf(BlockedAddressError);
    await expect(safePost(`http://localhost:${port()}/named/b`, {}, '{}', false, 5000)).rejects.toThrow(/localhost resolves to (127\.0\.0\.1|::1), which is not a public address/);
    expect(reached('/named/')).toEqual([]);
    // The same request with private targets allowed does arrive: the refusal above was the address check.
    expect(await safePost(`http://localhost:${port()}/named/c`, {}, '{}', true, 5000)).toMatchObject({ status: 204 });
    expect(reached('/named/').map((r) => r.path)).toEqual(['/named/c']);
  });

  it('answers a redirect as it is and does not follow it', async () => {
    expect(await safePost(`${receiver.url}/redirect/direct`, {}, '{"a":1}', true, 5000)).toMatchObject({ status: 302 });
    expect(reached('/redirect/direct')).toHaveLength(1);
    expect(reached('/landed/')).toEqual([]);
  });

  (rebindSkip ? it.skip : it)('a delivery to a name that resolved to nothing when saved and to loopback when sent is refused; a redirect fails the attempt', async () => {
    const user = await api.createUser('user');
    const url = `http://${rebound}:${port()}/rebound`;
    const saved = await api.call('POST', '/api/v1/webhooks', { token: user.token, body: { url, event_types: ['webhook.test'] } });
    expect(saved.status).toBe(201);
    expect((await api.call('POST', `/api/v1/webhooks/${saved.body.data.id}/test`, { token: user.token })).status).toBe(202);
    type Delivery = { status: string; attempts: number; attempt_log: Array<{ status_code: number | null; error: string | null }> };
    const failed = async (id: number, token: string) => eventually(async () => {
      const log = (await api.call('GET', `/api/v1/webhooks/${id}/deliveries`, { token })).body.data.deliveries as Delivery[];
      return log[0]?.status === 'failed' ? log[0] : null;
    }, 30_000, `endpoint ${id}'s delivery failed`);
    const refused = await failed(saved.body.data.id, user.token);
    expect(refused.attempts).toBe(2);
    for (const attempt of refused.attempt_log) {
      expect(attempt).toMatchObject({ status_code: null, error: expect.stringContaining(`${rebound} resolves to 127.0.0.1, which is not a public address`) });
    }
    expect(reached('/rebound')).toEqual([]);

    // An admin's private endpoint that answers 302: the attempt records the 302 and the target is never asked.
    const admin = await api.admin();
    const redirecting = await api.call('POST', '/api/v1/webhooks', { token: admin, body: { url: `${receiver.url}/redirect/${queue}`, allow_private: true, event_types: ['webhook.test'] } });
    expect((await api.call('POST', `/api/v1/webhooks/${redirecting.body.data.id}/test`, { token: admin })).status).toBe(202);
    const redirected = await failed(redirecting.body.data.id, admin);
    expect(redirected.attempt_log.map((a) => a.status_code)).toEqual([302, 302]);
    expect(reached(`/redirect/${queue}`)).toHaveLength(2);
    expect(reached('/landed/')).toEqual([]);
  });
});
