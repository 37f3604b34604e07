import crypto from 'node:crypto';
import type { TestApi } from './api';

export const uniq = (prefix: string) => `${prefix}-${crypto.randomBytes(4).toString('hex')}`;

/** Adds a host through the API (admin) and returns its view. */
export async function addHost(api: TestApi, body: Record<string, unknown>) {
  const res = await api.call('POST', '/api/v1/hosts', { token: await api.admin(), body: { address: 'local', engine_type: 'simulator', ...body, name: body.name ?? uniq('sim') } });
  if (res.status !== 201) throw new Error(`add host failed: ${res.status} ${res.text}`);
  return res.body.data as { id: number; name: string };
}

/** Waits for an operation (202 answer or id) to end and returns it. */
export async function finished(api: TestApi, token: string, opOrRes: string | { body: { data: { operation: { id: string } } }; status: number; text?: string }, timeout = 60) {
  const id = typeof opOrRes === 'string' ? opOrRes : opOrRes.body?.data?.operation?.id;
  if (!id) throw new Error(`no operation in answer: ${typeof opOrRes === 'string' ? opOrRes : `${opOrRes.status} ${opOrRes.text}`}`);
  const deadline = Date.now() + timeout * 1000;
  for (;;) {
    const res = await api.call('GET', `/api/v1/operations/${id}/wait?timeout=${Math.min(30, timeout)}`, { token });
    if (['succeeded', 'failed', 'canceled'].includes(res.body.data?.status) || Date.now() > deadline) return res.body.data;
  }
}

export async function createInstance(api: TestApi, token: string, body: Record<string, unknown>) {
  const res = await api.call('POST', '/api/v1/instances', { token, body: { name: 'test', ...body, uuid: body.uuid ?? uniq('vm') } });
  if (res.status !== 202) throw new Error(`create failed: ${res.status} ${res.text}`);
  return { res, op: await finished(api, token, res) };
}
