import { startTestApi, eventually, type TestApi } from '../support/api';
import { addHost } from '../support/compute';
import { generateCodes, redeem, rentalIn } from '../support/rentals';

let api: TestApi;
let host: { id: number; name: string };
beforeAll(async () => {
  // Every third change continues the workflow as new, so a few renewals cross several runs.
  api = await startTestApi({ IDCFLOW_RENTAL_CONTINUE_AS_NEW_AFTER: '3' });
  host = await addHost(api, { nat_port_start: 41100, nat_port_end: 41109, public_addresses: ['198.51.100.8'] });
});
afterAll(async () => { await api.close(); });

type State = { phase: string; expiresAt: string; instanceId: number; remindedFor: string | null; runs: number };

describe('a rental\'s workflow continues as new', () => {
  it('keeps its state across runs: expiry, relay, reminder, operation ids; its timers and deletion still work in the last run', async () => {
    const u = await api.createUser('user');
    const admin = await api.admin();
    const rental = await redeem(api, u.token, { code: (await generateCodes(api, 30, 1)).codes[0], host_id: host.id });
    const active = await rentalIn(api, rental.id, 'active');
    const handle = api.deps.temporal.workflow.getHandle(rental.workflow_id);
    const firstRun = (await handle.describe()).runId;

    // Seven changes: codes and exact renewals, one after the other; each answers with the expiry it wrote.
    const codes = (await generateCodes(api, 5, 4)).codes;
    let expected = new Date(active.expires_at).getTime();
    for (let i = 0; i < 7; i++) {
      if (i % 2 === 0) {
        expect((await api.call('POST', '/api/v1/rentals/redeem', { token: u.token, body: { code: codes[i / 2], rental_id: rental.id } })).status).toBe(200);
        expected += 5 * 86_400_000;
      } else {
        expected += 86_400_000;
        expect((await api.call('POST', `/api/v1/rentals/${rental.id}/renew`, { token: admin, body: { expires_at: new Date(expected).toISOString() } })).status).toBe(200);
      }
    }
    const state = await eventually(async () => {
      const s = await handle.query<State>('rentals.state');
      return s.runs >= 3 ? s : null;
    }, 20_000, 'the workflow to have continued as new twice');
    expect(state).toMatchObject({ phase: 'active', instanceId: active.instance_id, expiresAt: new Date(expected).toISOString() });
    const now = await handle.describe();
    expect(now.runId).not.toBe(firstRun);
    expect(now.status.name).toBe('RUNNING');
    const first = await api.deps.temporal.workflow.getHandle(rental.workflow_id, firstRun).describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');
    expect(new Date((await api.deps.knex('rentals').where({ id: rental.id }).first()).expires_at).getTime()).toBe(expected);

    // The reminder was not sent before, and the timers of the current run still act: expiry suspends, a renewal resumes.
    const soon = new Date(Date.now() + 3000).toISOString();
    expect((await api.call('POST', '/api/rental/renew', { token: admin, body: { rental_id: rental.id, new_expiry_date: soon } })).status).toBe(200);
    await rentalIn(api, rental.id, 'suspended', 30_000);
    expect((await api.call('POST', `/api/v1/rentals/${rental.id}/renew`, { token: admin, body: { expires_at: '2099-12-31' } })).status).toBe(200);
    await rentalIn(api, rental.id, 'active', 30_000);
    const later = await handle.query<State>('rentals.state');
    expect(later.runs).toBeGreaterThan(state.runs); // two more changes: another run
    expect(later.remindedFor).not.toBeNull(); // the expiry 3 s away was inside the reminder window: reminded once, and that is carried

    const del = await api.call('DELETE', `/api/rental/delete/${rental.id}`, { token: u.token });
    expect(del.body).toMatchObject({ rental: { status: 'deleted' } });
    // One relay all along; every operation of every run has its own id, in order.
    const ops = await api.deps.knex('operations').where('id', 'like', `${rental.workflow_id}.%`).orderBy('created_at').select('id', 'type', 'status');
    expect(ops.map((o) => o.type)).toEqual(['instance.create', 'instance.stop', 'instance.start', 'instance.delete']);
    expect(ops.every((o) => o.status === 'succeeded')).toBe(true);
    expect(ops.map((o) => o.id)).toEqual(['instance.create-1', 'instance.stop-2', 'instance.start-3', 'instance.delete-4'].map((x) => `${rental.workflow_id}.${x}`));
    const relays = await api.deps.knex('instances').where({ name: `derp-relay-${rental.id}` }).count('* as c').first();
    expect(Number(relays!.c)).toBe(1);
  });
});
