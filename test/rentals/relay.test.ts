import net from 'node:net';
import https from 'node:https';
import tls from 'node:tls';
import { createHash } from 'node:crypto';
import Docker from 'dockerode';
import { startTestApi, eventually, type TestApi } from '../support/api';
import { addHost, uniq } from '../support/compute';
import { podmanForTests, podmanMissing } from '../support/podman';
import { spawnWorker, type Spawned } from '../support/processes';
import { freePort } from '../../workers/embedded-services';
import { derperImageForTests, generateCodes, rentalIn, startSmtp } from '../support/rentals';
import { openRegistration } from '../support/signup';
import { describeIfRunnable } from '../support/environment';

const podman = podmanForTests();

const portIsFree = (port: number) => new Promise<boolean>((resolve) => {
  const server = net.createServer();
  server.once('error', () => resolve(false));
  server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
});

/** `/derp/probe` over HTTPS, the relay's certificate verified against `ca` (idcflow's relay CA): its status, or 0. */
let relayCa: string | undefined;
const probe = (port: number, ca = relayCa) => new Promise<number>((resolve) => {
  const req = https.get({ host: '127.0.0.1', port, path: '/derp/probe', ca, timeout: 2000 }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
  req.on('error', () => resolve(0));
  req.on('timeout', () => { req.destroy(); resolve(0); });
});
/** The pin (as Tailscale writes it) of the certificate the relay serves, verified against the CA on the way. */
const servedPin = (port: number, ca: string) => new Promise<string>((resolve, reject) => {
  const socket = tls.connect({ host: '127.0.0.1', port, ca }, () => {
    resolve(`sha256-raw:${createHash('sha256').update(socket.getPeerCertificate().raw).digest('hex')}`);
    socket.end();
  });
  socket.on('error', reject);
});

describeIfRunnable(podmanMissing(), 'a rental end to end: a real derper relay on Podman, mail through a real SMTP server', () => {
  const queue = uniq('rentals-e2e');
  let api: TestApi;
  let worker: Spawned;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let docker: Docker;
  let image: string;

  beforeAll(async () => {
    image = await derperImageForTests();
    smtp = await startSmtp();
    docker = new Docker({ socketPath: (podman as { socketPath: string }).socketPath });
    worker = await spawnWorker(queue, { IDCFLOW_SMTP_URL: smtp.url, IDCFLOW_MAIL_FROM: 'relays <relays@example.test>', IDCFLOW_DERP_IMAGE: image, IDCFLOW_PUBLIC_URL: 'http://idcflow.example.test', IDCFLOW_DERP_VERIFY_URL: 'http://idcflow.example.test' });
    api = await startTestApi({ IDCFLOW_TASK_QUEUE: queue, IDCFLOW_RENTAL_GRACE_SECONDS: '5', IDCFLOW_DERP_IMAGE: image });
  }, 240_000);
  afterAll(async () => {
    await api?.close();
    await worker?.stop();
    await smtp?.close();
  });

  it('verify email → redeem → relay answers /derp/probe → reminder once → expiry stops it → renew brings it back → grace ends: container gone, port free', async () => {
    const port = await freePort();
    const relayHost = await addHost(api, { name: uniq('relay-host'), engine_type: 'docker', address: `unix://${(podman as { socketPath: string }).socketPath}`, nat_port_start: port, nat_port_end: port, public_addresses: ['127.0.0.1'] });
    const name = `relay_${Date.now()}`;
    const email = `${name}@example.test`;
    await openRegistration(api);
    expect((await api.call('POST', '/api/add_user', { body: { username: name, password: 'a-long-password', email } })).status).toBe(200);
    // The account signs in once its address is verified.
    expect((await api.call('POST', '/api/login', { body: { username: name, password: 'a-long-password' } })).status).toBe(401);

    // The verification mail (sent by the sign-up; asking again within a minute sends no other) carries a signed link that works once.
    expect((await api.call('POST', '/api/send_verification_email', { body: { email } })).status).toBe(200);
    expect((await api.call('POST', '/api/send_verification_email', { body: { email } })).status).toBe(200);
    const verification = await eventually(async () => smtp.received.find((m) => m.to === email && m.subject === 'Verify your email address'), 30_000, 'verification mail');
    const link = /http:\/\/idcflow\.example\.test(\/api\/verify_email\?id=\d+&token=[A-Za-z0-9_-]+)/.exec(verification.body)![1];
    const tampered = link.replace(/token=(.)/, (_m, c: string) => `token=${c === 'A' ? 'B' : 'A'}`);
    expect((await api.call('GET', tampered)).status).toBe(400);
    const verified = await api.call('GET', link);
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ message: 'Email verified successfully', email_verified: true });
    expect((await api.call('GET', link)).status).toBe(400);
    expect(smtp.received.filter((m) => m.subject === 'Verify your email address')).toHaveLength(1);
    const token = (await api.call('POST', '/api/login', { body: { username: name, password: 'a-long-password' } })).body.token as string;

    // Redeem: placement picks the docker host, the rental takes its only port, derper answers through it.
    const { codes } = await generateCodes(api, 30, 1);
    const redeemed = await api.call('POST', '/api/v1/rentals/redeem', { token, body: { code: codes[0], host_id: relayHost.id } });
    expect(redeemed.status).toBe(200);
    const rentalId = redeemed.body.data.rental.id as number;
    const active = await rentalIn(api, rentalId, 'active', 120_000);
    expect(active.port).toBe(port);
    const inst = await api.deps.knex('instances').where({ id: active.instance_id }).first();
    // The relay serves TLS with a certificate from idcflow's relay CA: verified against the CA, refused without it.
    relayCa = (await api.call('GET', '/api/v1/rentals/relay-ca', { token })).body.data.certificate;
    expect(relayCa).toMatch(/^-----BEGIN CERTIFICATE-----/);
    await eventually(async () => (await probe(port)) === 200, 30_000, 'derper answering /derp/probe over TLS');
    expect(await probe(port, '')).toBe(0);
    const plain = await fetch(`http://127.0.0.1:${port}/derp/probe`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status, () => 0);
    expect(plain).not.toBe(200);
    const config = (await docker.getContainer(inst.engine_ref).inspect()).Config;
    expect(config.Image).toBe(image);
    // derper asks idcflow about every client (it fails open while idcflow cannot be reached, as here)
    expect(config.Cmd).toEqual(expect.arrayContaining(['-verify-client-url', `http://idcflow.example.test/api/v1/rentals/${redeemed.body.data.rental.uuid}/admit`]));
    expect(config.Cmd).toEqual(expect.arrayContaining(['-certmode', 'manual', '-certdir', '/var/lib/derper/certs', '-hostname', '127.0.0.1']));
    const acl = await api.call('GET', '/api/user/download_acl', { token });
    const node = JSON.parse(acl.text).derpMap.Regions['901'].Nodes[0];
    expect(node).toMatchObject({ HostName: '127.0.0.1', IPv4: '127.0.0.1', DERPPort: port, CertName: expect.stringMatching(/^sha256-raw:[0-9a-f]{64}$/) });
    // Tailscale clients accept the relay by that pin: it is the certificate the relay serves.
    expect(await servedPin(port, relayCa!)).toBe(node.CertName);
    expect((await api.call('GET', `/api/v1/rentals/${rentalId}`, { token })).body.data.tls).toEqual({ hostname: '127.0.0.1', cert_name: node.CertName });

    // An admin moves the expiry seconds away: the reminder is due at once, then the relay stops at expiry.
    const admin = await api.admin();
    const soon = new Date(Date.now() + 8000).toISOString();
    expect((await api.call('POST', '/api/rental/renew', { token: admin, body: { rental_id: rentalId, new_expiry_date: soon } })).status).toBe(200);
    const reminder = await eventually(async () => smtp.received.find((m) => m.to === email && m.subject.startsWith(`Your DERP relay rental ${rentalId} expires`)), 30_000, 'reminder mail');
    expect(reminder.body).toContain(soon);
    // asking again sends nothing more for the same expiry
    expect((await api.call('POST', '/api/rental/send_expiry_notifications', { token: admin, body: { user_id: active.user_id } })).status).toBe(200);
    await rentalIn(api, rentalId, 'suspended', 60_000);
    expect((await docker.getContainer(inst.engine_ref).inspect()).State.Running).toBe(false);
    expect(await probe(port)).toBe(0);
    expect(smtp.received.filter((m) => m.body.includes(soon))).toHaveLength(1);

    // Renewal reaches the waiting workflow: the relay comes back.
    expect((await api.call('POST', '/api/rental/renew', { token: admin, body: { rental_id: rentalId, new_expiry_date: '2099-12-31' } })).status).toBe(200);
    await rentalIn(api, rentalId, 'active', 60_000);
    await eventually(async () => (await probe(port)) === 200, 30_000, 'derper back');
    expect(await servedPin(port, relayCa!)).toBe(node.CertName); // the same certificate after the restart

    // Expiry again, then the grace period ends: the container is gone and the port free.
    const last = new Date(Date.now() + 3000).toISOString();
    expect((await api.call('POST', '/api/rental/renew', { token: admin, body: { rental_id: rentalId, new_expiry_date: last } })).status).toBe(200);
    await rentalIn(api, rentalId, 'deleted', 90_000);
    await expect(docker.getContainer(inst.engine_ref).inspect()).rejects.toThrow();
    expect(await portIsFree(port)).toBe(true);
    const reminders = smtp.received.filter((m) => m.subject.startsWith(`Your DERP relay rental ${rentalId} expires`));
    expect(reminders.map((m) => m.body.includes(soon) ? 'first' : m.body.includes(last) ? 'last' : 'other')).toEqual(['first', 'last']);
    const history = await api.call('GET', `/api/user/history/${active.user_id}`, { token });
    expect(history.body.history[0].events.map((e: { action: string }) => e.action)).toEqual(['redeem', 'renew', 'suspend', 'renew', 'resume', 'renew', 'suspend', 'delete']);
  }, 400_000);
});
