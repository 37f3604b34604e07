import Docker from 'dockerode';
import { startTestApi, eventually, type TestApi } from '../support/api';
import { addHost, uniq } from '../support/compute';
import { podmanForTests, podmanMissing } from '../support/podman';
import { spawnWorker, type Spawned } from '../support/processes';
import { freePort } from '../../workers/embedded-services';
import { derperImageForTests, generateCodes, rentalIn, startSmtp } from '../support/rentals';
import { openRegistration, verifySignup } from '../support/signup';
import { describeIfRunnable } from '../support/environment';

const podman = podmanForTests();

describeIfRunnable(podmanMissing(), 'a rental survives its worker being killed (SIGKILL) at each step that changes something', () => {
  const queue = uniq('rentals-crash');
  let api: TestApi;
  let worker: Spawned | undefined;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let docker: Docker;
  let image: string;

  const restart = async (faults?: string) => {
    await worker?.stop('SIGKILL');
    worker = await spawnWorker(queue, { IDCFLOW_SMTP_URL: smtp.url, IDCFLOW_DERP_IMAGE: image, ...(faults ? { IDCFLOW_FAULT_DELAY: faults } : {}) });
  };

  beforeAll(async () => {
    image = await derperImageForTests();
    smtp = await startSmtp();
    docker = new Docker({ socketPath: (podman as { socketPath: string }).socketPath });
    api = await startTestApi({ IDCFLOW_TASK_QUEUE: queue, IDCFLOW_RENTAL_GRACE_SECONDS: '3600', IDCFLOW_DERP_IMAGE: image });
  }, 240_000);
  afterAll(async () => {
    await api?.close();
    await worker?.stop();
    await smtp?.close();
  });

  it('one container, one ledger entry per change, one reminder mail, one stop', async () => {
    const port = await freePort();
    const relayHost = await addHost(api, { name: uniq('crash-host'), engine_type: 'docker', address: `unix://${(podman as { socketPath: string }).socketPath}`, nat_port_start: port, nat_port_end: port, public_addresses: ['127.0.0.1'] });
    const admin = await api.admin();
    // A distributor whose referred customer redeems: each redemption credits one commission.
    const dist = await api.createUser('user');
    const referral = `C${Date.now().toString(36).toUpperCase()}`.slice(0, 12);
    expect((await api.call('POST', '/api/v1/distributors/apply', { token: dist.token, body: { referral_code: referral } })).status).toBe(201);
    expect((await api.call('POST', `/api/v1/distributors/${dist.id}/approve`, { token: admin, body: { tier: 'gold' } })).status).toBe(200);
    const name = `crash_${Date.now()}`;
    const email = `${name}@example.test`;
    await openRegistration(api);
    const customerId = (await api.call('POST', '/api/add_user', { body: { username: name, password: 'a-long-password', email, referral_code: referral } })).body.user_id as number;
    await verifySignup(api, customerId);
    const token = (await api.call('POST', '/api/login', { body: { username: name, password: 'a-long-password' } })).body.token as string;
    const { codes } = await generateCodes(api, 30, 2, { value_cents: 500 });
    const ledger = () => api.deps.knex('commission_ledger').where({ distributor_id: dist.id }).select('rental_history_id', 'amount_cents');

    // 1. Killed after the container was created and before the rental recorded it.
    await restart('rentalsRecordRelay:25000');
    const redeemed = await api.call('POST', '/api/v1/rentals/redeem', { token, body: { code: codes[0], host_id: relayHost.id } });
    expect(redeemed.status).toBe(200);
    const rental = redeemed.body.data.rental as { id: number; workflow_id: string };
    await eventually(async () => (await api.deps.knex('operations').where({ id: `${rental.workflow_id}.instance.create-1` }).first())?.status === 'succeeded', 120_000, 'relay container created');
    expect((await api.deps.knex('rentals').where({ id: rental.id }).first()).status).toBe('provisioning');
    await restart('rentalsApplyChange.after:25000');
    const active = await rentalIn(api, rental.id, 'active', 90_000);
    const inst = await api.deps.knex('instances').where({ id: active.instance_id }).first();
    const containers = () => docker.listContainers({ all: true, filters: { label: [`io.idcflow.uuid=${inst.uuid}`] } });
    expect(await containers()).toHaveLength(1);

    // 2. Killed after an extension was written (code claimed, history, commission) and before it was reported.
    const extending = api.call('POST', '/api/v1/rentals/redeem', { token, body: { code: codes[1], rental_id: rental.id } });
    await eventually(async () => (await api.deps.knex('rental_history').where({ rental_id: rental.id, action: 'extend' })).length === 1, 60_000, 'extension written');
    await restart('rentalsReminderMail.after:25000');
    expect((await extending).status).toBe(200);
    expect(await api.deps.knex('rental_history').where({ rental_id: rental.id, action: 'extend' })).toHaveLength(1);
    expect((await ledger()).map((l) => l.amount_cents)).toEqual([100, 100]);

    // 3. Killed after the reminder went out and before the workflow heard so.
    const soon = new Date(Date.now() + 10_000).toISOString();
    expect((await api.call('POST', '/api/rental/renew', { token: admin, body: { rental_id: rental.id, new_expiry_date: soon } })).status).toBe(200);
    await eventually(async () => smtp.received.some((m) => m.to === email && m.body.includes(soon)), 30_000, 'reminder sent');
    await restart('enginePower:25000');

    // 4. Killed while the relay is being stopped at expiry.
    await eventually(async () => {
      const stop = await api.deps.knex('operations').where({ id: `${rental.workflow_id}.instance.stop-2` }).first();
      return stop?.status === 'running' && stop.progress_step === 'power';
    }, 60_000, 'stop in flight');
    await restart();
    await rentalIn(api, rental.id, 'suspended', 90_000);
    expect((await docker.getContainer(inst.engine_ref).inspect()).State.Running).toBe(false);
    expect(await api.deps.knex('operations').where('id', 'like', `${rental.workflow_id}.%`).orderBy('created_at').pluck('type')).toEqual(['instance.create', 'instance.stop']);
    expect(smtp.received.filter((m) => m.body.includes(soon))).toHaveLength(1);
    expect(await containers()).toHaveLength(1);
    expect(await ledger()).toHaveLength(2);

    // Deleting it removes the one container.
    const del = await api.call('DELETE', `/api/v1/rentals/${rental.id}`, { token });
    expect(del.status).toBe(200);
    expect(await containers()).toHaveLength(0);
    expect((await api.call('GET', `/api/user/history/${customerId}`, { token })).body.history[0].events.map((e: { action: string }) => e.action))
      .toEqual(['redeem', 'extend', 'renew', 'suspend', 'delete']);
  }, 600_000);
});
