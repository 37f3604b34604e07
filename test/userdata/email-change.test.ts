import { startTestApi, eventually, type TestApi } from '../support/api';
import { uniq } from '../support/compute';
import { spawnWorker, type Spawned } from '../support/processes';
import { startSmtp } from '../support/rentals';

/** An email change leaves the address unverified until the link mailed to the new address is opened (real SMTP server, real worker). */
const queue = uniq('email-change');
let api: TestApi;
let worker: Spawned;
let smtp: Awaited<ReturnType<typeof startSmtp>>;

beforeAll(async () => {
  smtp = await startSmtp();
  worker = await spawnWorker(queue, { IDCFLOW_SMTP_URL: smtp.url, IDCFLOW_MAIL_FROM: 'idcflow <noreply@example.test>', IDCFLOW_PUBLIC_URL: 'http://idcflow.example.test' });
  api = await startTestApi({ IDCFLOW_TASK_QUEUE: queue });
}, 180_000);
afterAll(async () => {
  await api?.close();
  await worker?.stop();
  await smtp?.close();
});

const linkTo = async (to: string) => {
  const mail = await eventually(async () => smtp.received.find((m) => m.to === to && m.subject === 'Verify your email address'), 30_000, `verification mail to ${to}`);
  return /http:\/\/idcflow\.example\.test(\/api\/verify_email\?id=\d+&token=[A-Za-z0-9_-]+)/.exec(mail.body)![1];
};
const verified = async (id: number) => (await api.deps.knex('users').where({ id }).first('email_verified')).email_verified as boolean;

describe('re-verification on an email change', () => {
  it('profile: the new address is unverified until its link is opened; the link works once', async () => {
    const user = await api.createUser('user');
    await api.deps.knex('users').where({ id: user.id }).update({ email_verified: true });
    const email = `${user.username}.new@example.test`;
    const res = await api.call('POST', '/api/settings/profile', { token: user.token, body: { email } });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ email, email_verified: false });
    const link = await linkTo(email);
    expect(await verified(user.id)).toBe(false);
    const tampered = link.replace(/token=(.)/, (_m, c: string) => `token=${c === 'A' ? 'B' : 'A'}`);
    expect((await api.call('GET', tampered)).status).toBe(400);
    expect(await verified(user.id)).toBe(false);
    const ok = await api.call('GET', link);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ email, email_verified: true });
    expect(await verified(user.id)).toBe(true);
    expect((await api.call('GET', link)).status).toBe(400);
    expect(smtp.received.filter((m) => m.to === email)).toHaveLength(1);
    // The same address again (case aside) is no change: nothing mailed, still verified.
    expect((await api.call('POST', '/api/settings/profile', { token: user.token, body: { email: email.toUpperCase() } })).body.data.email_verified).toBe(true);
    expect(await verified(user.id)).toBe(true);
  });

  it('a link to a former address stops working once the address changes again', async () => {
    const user = await api.createUser('user');
    const [first, second] = [`${user.username}.a@example.test`, `${user.username}.b@example.test`];
    expect((await api.call('POST', '/api/settings/profile', { token: user.token, body: { email: first } })).status).toBe(200);
    const stale = await linkTo(first);
    expect((await api.call('POST', '/api/settings/profile', { token: user.token, body: { email: second } })).status).toBe(200);
    const fresh = await linkTo(second);
    expect((await api.call('GET', stale)).status).toBe(400);
    expect(await verified(user.id)).toBe(false);
    expect((await api.call('GET', fresh)).status).toBe(200);
    expect(await verified(user.id)).toBe(true);
  });

  it('an admin changing a user’s email through /api/v1/users re-verifies it too', async () => {
    const user = await api.createUser('user');
    await api.deps.knex('users').where({ id: user.id }).update({ email_verified: true });
    const email = `${user.username}.admin@example.test`;
    const res = await api.call('PUT', `/api/v1/users/${user.id}`, { token: await api.admin(), body: { email } });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ email, email_verified: false });
    expect((await api.call('GET', await linkTo(email))).status).toBe(200);
    expect(await verified(user.id)).toBe(true);
  });
});
