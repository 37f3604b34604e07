import { X509Certificate } from 'node:crypto';
import { startTestApi, expectError, eventually, type TestApi } from '../support/api';
import { addHost } from '../support/compute';
import { generateCodes, redeem, rentalIn } from '../support/rentals';
import { codeHash } from '../../api/rentals/serials';
import { openRegistration, verifySignup } from '../support/signup';

let api: TestApi;
let host: { id: number; name: string };
beforeAll(async () => {
  api = await startTestApi();
  host = await addHost(api, { nat_port_start: 41000, nat_port_end: 41009, public_addresses: ['198.51.100.7', '2001:db8::7'], options: { region_code: 'sha' } });
  // Sign-up is off until an admin opens it (test/platform/signup.test.ts tests it closed, on a database of its own).
  await openRegistration(api);
});
afterAll(async () => { await api.close(); });

const seed000Error = (res: { status: number; body: { error?: unknown } }, status: number) => {
  expect(res.status).toBe(status);
  expect(typeof res.body.error).toBe('string');
};

describe('seed 000 accounts', () => {
  it('add_user registers, login answers a token that works once the email is verified, bad data is 400 {"error"}', async () => {
    const name = `cust_${Date.now()}`;
    const created = await api.call('POST', '/api/add_user', { body: { username: name, password: 'a-long-password', email: `${name}@example.test` } });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ message: 'User created successfully', user_id: expect.any(Number) });
    seed000Error(await api.call('POST', '/api/add_user', { body: { username: 'x', password: 'short', email: 'nope' } }), 400);
    // A body that is not JSON fails in the body parser, before any route (and its surface) is known: 400 in the native envelope.
    expect((await api.call('POST', '/api/add_user', { rawBody: '{"username":', headers: { 'content-type': 'application/json' } })).status).toBe(400);
    expect((await api.call('POST', '/api/add_user', { body: { username: name, password: 'a-long-password', email: 'a@example.test' } })).status).toBe(409);
    seed000Error(await api.call('POST', '/api/add_user', { body: { username: `${name}x`, password: 'a-long-password', email: 'b@example.test', referral_code: 'NOSUCH1' } }), 400);

    // Not before the address is verified.
    seed000Error(await api.call('POST', '/api/login', { body: { username: name, password: 'a-long-password' } }), 401);
    await verifySignup(api, created.body.user_id);
    const login = await api.call('POST', '/api/login', { body: { username: name, password: 'a-long-password' } });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ message: 'Login successful', token: expect.any(String) });
    const bad = await api.call('POST', '/api/login', { body: { username: name, password: 'wrong-password' } });
    expect(bad.status).toBe(401);
    expect(bad.body.error).toBe('Invalid username or password');
    seed000Error(await api.call('POST', '/api/login', { body: { username: '' } }), 400);

    const info = await api.call('GET', '/api/user/rental_info', { token: login.body.token });
    expect(info.body).toMatchObject({ user_id: created.body.user_id, rental_status: 'none', rental_expiry: null });
    expect((await api.call('GET', '/api/user/rental_info')).status).toBe(401);
  });

  it('send_verification_email: 400 for a bad address, the same 200 for any address; verify_email refuses bad links', async () => {
    seed000Error(await api.call('POST', '/api/send_verification_email', { body: { email: 'not-an-address' } }), 400);
    const unknown = await api.call('POST', '/api/send_verification_email', { body: { email: 'nobody@example.test' } });
    expect(unknown.status).toBe(200);
    expect(unknown.body).toEqual({ message: 'Verification email sent successfully' });
    seed000Error(await api.call('GET', '/api/verify_email?id=1&token=forged'), 400);
    seed000Error(await api.call('GET', '/api/verify_email?id=abc'), 400);
  });
});

describe('serial codes and rentals', () => {
  it('admins generate codes; users may not; bad input is 422 naming the field', async () => {
    const u = await api.createUser('user');
    expectError(await api.call('POST', '/api/v1/rentals/serial-batches', { token: u.token, body: { days: 30, count: 1 } }), 403, 'INSUFFICIENT_PERMISSIONS');
    const bad = await api.call('POST', '/api/v1/rentals/serial-batches', { token: await api.admin(), body: { days: 0, count: 5000 } });
    expectError(bad, 422, 'VALIDATION_ERROR');
    expect(bad.body.error.details.errors.map((e: { field: string }) => e.field).sort()).toEqual(['count', 'days']);
    const { codes, batch } = await generateCodes(api, 30, 3);
    expect(codes).toHaveLength(3);
    expect(new Set(codes).size).toBe(3);
    for (const c of codes) expect(c).toMatch(/^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/);
    const stored = await api.deps.knex('serial_codes').where({ batch_id: batch.id }).select('code_hash');
    expect(JSON.stringify(stored)).not.toContain(codes[0].replace(/-/g, ''));
    expectError(await api.call('POST', '/api/v1/rentals/serial-batches', { body: { days: 1, count: 1 } }), 401, 'INVALID_CREDENTIALS');
  });

  it('redeem creates a rental whose relay comes up; unknown and used codes get the same refusal', async () => {
    const u = await api.createUser('user');
    const { codes } = await generateCodes(api, 30, 1);
    const rental = await redeem(api, u.token, { code: codes[0].toLowerCase(), host_id: host.id });
    expect(rental).toMatchObject({ status: 'provisioning', user_id: u.id });
    const row = await rentalIn(api, rental.id, 'active');
    expect(row.port).toBeGreaterThanOrEqual(41000);
    const inst = await api.deps.knex('instances').where({ id: row.instance_id }).first();
    expect(inst).toMatchObject({ state: 'running', image: api.config.rentals.derpImage, ports: [{ host: row.port, container: 3340, protocol: 'tcp' }] });
    expect(Math.round((new Date(row.expires_at).getTime() - Date.now()) / 86_400_000)).toBe(30);

    const used = await api.call('POST', '/api/v1/rentals/redeem', { token: u.token, body: { code: codes[0] } });
    const unknown = await api.call('POST', '/api/v1/rentals/redeem', { token: u.token, body: { code: 'AAAAA-BBBBB-CCCCC-DDDDD' } });
    expectError(used, 422, 'VALIDATION_ERROR');
    expectError(unknown, 422, 'VALIDATION_ERROR');
    expect(used.body.error.message).toBe(unknown.body.error.message);
    expectError(await api.call('POST', '/api/v1/rentals/redeem', { token: u.token, body: {} }), 422, 'VALIDATION_ERROR');
    expectError(await api.call('POST', '/api/v1/rentals/redeem', { body: { code: codes[0] } }), 401, 'INVALID_CREDENTIALS');

    // Two codes redeemed at once for the same rental extend it twice.
    const more = await generateCodes(api, 10, 2);
    const before = new Date((await api.deps.knex('rentals').where({ id: rental.id }).first()).expires_at).getTime();
    const both = await Promise.all(more.codes.map((code) => api.call('POST', '/api/v1/rentals/redeem', { token: u.token, body: { code, rental_id: rental.id } })));
    expect(both.map((r) => r.status)).toEqual([200, 200]);
    const after = new Date((await api.deps.knex('rentals').where({ id: rental.id }).first()).expires_at).getTime();
    expect(Math.round((after - before) / 86_400_000)).toBe(20);
    const history = await api.call('GET', `/api/user/history/${u.id}`, { token: u.token });
    expect(history.body.history[0].events.map((e: { action: string }) => e.action)).toEqual(['redeem', 'extend', 'extend']);
    const state = await api.deps.temporal.workflow.getHandle(rental.workflow_id).query('rentals.state') as { expiresAt: string };
    expect(Date.parse(state.expiresAt)).toBe(after);
  });

  it('another user\'s rental is 404 everywhere; missing ones 404; no token 401', async () => {
    const owner = await api.createUser('user');
    const other = await api.createUser('user');
    const { codes } = await generateCodes(api, 5, 2);
    const rental = await redeem(api, owner.token, { code: codes[0], host_id: host.id });
    await rentalIn(api, rental.id, 'active');
    expectError(await api.call('GET', `/api/v1/rentals/${rental.id}`, { token: other.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('DELETE', `/api/v1/rentals/${rental.id}`, { token: other.token }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', '/api/v1/rentals/redeem', { token: other.token, body: { code: codes[1], rental_id: rental.id } }), 404, 'RESOURCE_NOT_FOUND');
    expect((await api.call('DELETE', `/api/rental/delete/${rental.id}`, { token: other.token })).status).toBe(404);
    expect((await api.call('GET', `/api/user/history/${owner.id}`, { token: other.token })).status).toBe(404);
    expect((await api.call('GET', `/api/acl/logs/${owner.id}`, { token: other.token })).status).toBe(404);
    expect((await api.call('GET', `/api/acl/download/${owner.username}`, { token: other.token })).status).toBe(404);
    expect((await api.call('POST', '/api/acl/generate', { token: other.token, body: { user_id: owner.id } })).status).toBe(404);
    expect((await api.call('POST', '/api/rental/renew', { token: other.token, body: { rental_id: rental.id, new_expiry_date: '2099-01-01' } })).status).toBe(403);
    expect((await api.call('GET', '/api/v1/rentals', { token: other.token })).body.data.rentals).toEqual([]);
    // the code was not spent by the refused attempt
    expect((await api.deps.knex('serial_codes').where({ code_hash: codeHash(codes[1]) }).first()).used_at).toBeNull();

    const admin = await api.admin();
    expectError(await api.call('GET', '/api/v1/rentals/99999999', { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    expect((await api.call('DELETE', '/api/rental/delete/99999999', { token: admin })).status).toBe(404);
    expect((await api.call('POST', '/api/rental/renew', { token: admin, body: { rental_id: 99999999, new_expiry_date: '2099-01-01' } })).status).toBe(404);
    expect((await api.call('GET', '/api/user/history/99999999', { token: admin })).status).toBe(404);
    expect((await api.call('GET', '/api/acl/download/no-such-user', { token: admin })).status).toBe(404);
    seed000Error(await api.call('POST', '/api/rental/renew', { token: admin, body: { rental_id: rental.id, new_expiry_date: 'soon' } }), 400);
    seed000Error(await api.call('POST', '/api/rental/renew', { token: admin, body: { rental_id: rental.id, new_expiry_date: '2001-01-01' } }), 400);
    seed000Error(await api.call('DELETE', '/api/rental/delete/abc', { token: admin }), 400);

    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/api/user/rental_info'], ['GET', `/api/user/history/${owner.id}`], ['POST', '/api/user/apply_distributor', {}], ['GET', '/api/user/download_acl'],
      ['POST', '/api/acl/generate', {}], ['POST', '/api/acl/update', {}], ['GET', `/api/acl/logs/${owner.id}`], ['GET', `/api/acl/download/${owner.username}`],
      ['GET', '/api/rental/check_expiry'], ['POST', '/api/rental/send_expiry_notifications', {}], ['POST', '/api/rental/renew', {}], ['DELETE', `/api/rental/delete/${rental.id}`],
      ['GET', '/api/v1/rentals'], ['GET', `/api/v1/rentals/${rental.id}`], ['POST', `/api/v1/rentals/${rental.id}/renew`, {}], ['DELETE', `/api/v1/rentals/${rental.id}`],
      ['GET', '/api/v1/rentals/derp-map'], ['GET', '/api/v1/rentals/serial-batches'], ['GET', '/api/v1/distributors'], ['GET', '/api/v1/distributors/me'],
      ['POST', '/api/v1/distributors/apply', {}], ['GET', '/api/v1/distributors/ledger'], ['POST', '/api/v1/distributors/1/approve', {}], ['POST', '/api/v1/distributors/ledger/1/pay'],
    ];
    for (const [method, path, body] of routes) expect([method, path, (await api.call(method, path, { body })).status]).toEqual([method, path, 401]);
  });

  it('admins renew to an exact expiry, list expired rentals, and delete: the relay goes and the port is free again', async () => {
    const u = await api.createUser('user');
    const admin = await api.admin();
    const { codes } = await generateCodes(api, 1, 1);
    const rental = await redeem(api, u.token, { code: codes[0], host_id: host.id });
    const active = await rentalIn(api, rental.id, 'active');
    const soon = new Date(Date.now() + 3000).toISOString();
    const renewed = await api.call('POST', '/api/rental/renew', { token: admin, body: { rental_id: rental.id, new_expiry_date: soon } });
    expect(renewed.status).toBe(200);
    expect(renewed.body).toMatchObject({ message: 'Rental renewed successfully', rental: { id: rental.id, expires_at: soon } });
    await rentalIn(api, rental.id, 'suspended');
    expect((await api.deps.knex('instances').where({ id: active.instance_id }).first()).state).toBe('stopped');
    const expired = await api.call('GET', '/api/rental/check_expiry', { token: admin });
    expect(expired.body.expired_rentals).toEqual(expect.arrayContaining([expect.objectContaining({ rental_id: rental.id, user_id: u.id, expiry_date: soon.slice(0, 10) })]));
    expect((await api.call('GET', '/api/rental/check_expiry', { token: u.token })).status).toBe(403);
    const admit = await api.call('POST', `/api/v1/rentals/${rental.uuid}/admit`, { body: { NodePublic: 'nodekey:abc', Source: '192.0.2.1' } });
    expect(admit.body).toEqual({ Allow: false });

    const back = await api.call('POST', `/api/v1/rentals/${rental.id}/renew`, { token: admin, body: { expires_at: '2099-12-31' } });
    expect(back.status).toBe(200);
    await rentalIn(api, rental.id, 'active');
    await eventually(async () => (await api.deps.knex('instances').where({ id: active.instance_id }).first()).state === 'running', 30_000, 'relay running again');
    expect((await api.call('POST', `/api/v1/rentals/${rental.uuid}/admit`, { body: { NodePublic: 'nodekey:abc' } })).body).toEqual({ Allow: true });

    const del = await api.call('DELETE', `/api/rental/delete/${rental.id}`, { token: u.token });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ message: 'Rental deleted successfully', rental: { status: 'deleted' } });
    expect((await api.deps.knex('instances').where({ id: active.instance_id }).first()).deleted_at).not.toBeNull();
    expect((await api.call('DELETE', `/api/rental/delete/${rental.id}`, { token: u.token })).status).toBe(404);
    const ops = await api.deps.knex('operations').where('id', 'like', `${rental.workflow_id}.%`).orderBy('created_at').select('type', 'status');
    expect(ops).toEqual([
      { type: 'instance.create', status: 'succeeded' }, { type: 'instance.stop', status: 'succeeded' },
      { type: 'instance.start', status: 'succeeded' }, { type: 'instance.delete', status: 'succeeded' },
    ]);
    // the port is free: the next rental on this host may take it
    const next = await generateCodes(api, 1, 1);
    const again = await redeem(api, u.token, { code: next.codes[0], host_id: host.id });
    expect((await rentalIn(api, again.id, 'active')).port).toBe(active.port);
  });
});

describe('derpMap ACLs', () => {
  it('generate, update, logs and downloads from the user\'s active rentals', async () => {
    const u = await api.createUser('user');
    const { codes } = await generateCodes(api, 30, 1);
    const rental = await redeem(api, u.token, { code: codes[0], host_id: host.id });
    const row = await rentalIn(api, rental.id, 'active');
    // The relay's certificate (idcflow's relay CA) is for the host's addresses; the derpMap pins it.
    const { tls } = (await api.call('GET', `/api/v1/rentals/${rental.id}`, { token: u.token })).body.data;
    expect(tls).toEqual({ hostname: '198.51.100.7', cert_name: expect.stringMatching(/^sha256-raw:[0-9a-f]{64}$/) });
    const cert = new X509Certificate(row.tls_cert);
    expect(cert.subjectAltName).toBe('IP Address:198.51.100.7, IP Address:2001:DB8:0:0:0:0:0:7');
    const ca = (await api.call('GET', '/api/v1/rentals/relay-ca', { token: u.token })).body.data.certificate;
    expect(cert.verify(new X509Certificate(ca).publicKey)).toBe(true);
    expect((await api.call('GET', '/api/v1/rentals/relay-ca')).status).toBe(401);
    const gen = await api.call('POST', '/api/acl/generate', { token: u.token, body: { user_id: u.id, permissions: ['read'] } });
    expect(gen.status).toBe(200);
    expect(gen.body).toMatchObject({ message: 'ACL generated successfully', regions: 1 });
    expect(gen.body.acl).toEqual({
      derpMap: {
        OmitDefaultRegions: true,
        Regions: { 901: { RegionID: 901, RegionCode: 'sha1', RegionName: expect.any(String), Nodes: [{ Name: '901a', RegionID: 901, HostName: '198.51.100.7', IPv4: '198.51.100.7', IPv6: '2001:db8::7', DERPPort: row.port, STUNPort: -1, CertName: tls.cert_name }] } },
      },
    });
    expect((await api.call('POST', '/api/acl/update', { token: u.token, body: { user_id: u.id } })).body.message).toBe('ACL updated successfully');
    seed000Error(await api.call('POST', '/api/acl/update', { token: u.token, body: { user_id: 'me' } }), 400);
    const file = await api.call('GET', '/api/user/download_acl', { token: u.token });
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toMatch(/^application\/json/);
    expect(file.headers.get('content-disposition')).toBe(`attachment; filename="derpmap-${u.username}.json"`);
    expect(JSON.parse(file.text)).toEqual(gen.body.acl);
    const admin = await api.admin();
    expect((await api.call('GET', `/api/acl/download/${u.username}`, { token: admin })).status).toBe(200);
    const logs = await api.call('GET', `/api/acl/logs/${u.id}`, { token: u.token });
    expect(logs.body.logs.map((l: { action: string }) => l.action)).toEqual(['download', 'download', 'update', 'generate']);
    const native = await api.call('GET', '/api/v1/rentals/derp-map', { token: u.token });
    expect(native.body.data).toEqual(gen.body.acl);
  });
});

describe('distributors', () => {
  it('apply → admin approves into a tier → referred customers redeem → one ledger entry each, paid by an admin', async () => {
    const dist = await api.createUser('user');
    const admin = await api.admin();
    const code = `D${Date.now().toString(36).toUpperCase()}`.slice(0, 12);
    seed000Error(await api.call('POST', '/api/user/apply_distributor', { token: dist.token, body: { user_id: dist.id, distributor_code: 'x' } }), 400);
    const other = await api.createUser('user');
    expect((await api.call('POST', '/api/user/apply_distributor', { token: other.token, body: { user_id: dist.id, distributor_code: 'ABCDEF' } })).status).toBe(404);
    const applied = await api.call('POST', '/api/user/apply_distributor', { token: dist.token, body: { user_id: dist.id, distributor_code: code } });
    expect(applied.status).toBe(200);
    expect(applied.body).toMatchObject({ message: 'Distributor application successful', status: 'pending' });
    expect((await api.call('POST', '/api/user/apply_distributor', { token: dist.token, body: { user_id: dist.id, distributor_code: code } })).status).toBe(409);
    // pending: no codes, and the referral code does not work yet
    expectError(await api.call('POST', '/api/v1/rentals/serial-batches', { token: dist.token, body: { days: 30, count: 1 } }), 403, 'INSUFFICIENT_PERMISSIONS');
    expect((await api.call('POST', `/api/v1/distributors/${dist.id}/approve`, { token: dist.token, body: {} })).status).toBe(403);
    expectError(await api.call('POST', '/api/v1/distributors/99999999/approve', { token: admin, body: {} }), 404, 'RESOURCE_NOT_FOUND');
    expectError(await api.call('POST', `/api/v1/distributors/${dist.id}/approve`, { token: admin, body: { tier: 'platinum' } }), 422, 'VALIDATION_ERROR');
    const approved = await api.call('POST', `/api/v1/distributors/${dist.id}/approve`, { token: admin, body: { tier: 'silver' } });
    expect(approved.body.data).toMatchObject({ status: 'approved', tier: { name: 'silver', commission_rate: 0.15 } });

    const name = `ref_${Date.now()}`;
    const reg = await api.call('POST', '/api/add_user', { body: { username: name, password: 'a-long-password', email: `${name}@example.test`, referral_code: code.toLowerCase() } });
    expect(reg.status).toBe(200);
    await verifySignup(api, reg.body.user_id);
    const customer = (await api.call('POST', '/api/login', { body: { username: name, password: 'a-long-password' } })).body.token;
    // The distributor's own batch, within the allowance; a batch past it is refused.
    const batch = await api.call('POST', '/api/v1/rentals/serial-batches', { token: dist.token, body: { days: 30, count: 2, value_cents: 1000 } });
    expect(batch.status).toBe(201);
    expectError(await api.call('POST', '/api/v1/rentals/serial-batches', { token: dist.token, body: { days: 30, count: 199 } }), 409, 'CONFLICT');
    const rental = await redeem(api, customer, { code: batch.body.data.codes[0], host_id: host.id });
    await redeem(api, customer, { code: batch.body.data.codes[1], rental_id: rental.id });
    const mine = await api.call('GET', '/api/v1/distributors/me', { token: dist.token });
    expect(mine.body.data.customers).toEqual([expect.objectContaining({ username: name, live_rentals: 1 })]);
    expect(mine.body.data.ledger.map((l: { amount_cents: number; status: string; action: string }) => [l.action, l.amount_cents, l.status])).toEqual([['redeem', 150, 'pending'], ['extend', 150, 'pending']]);
    expect(mine.body.data.totals).toEqual({ pending_cents: 300, paid_cents: 0 });
    expect((await api.call('GET', '/api/v1/distributors/ledger', { token: other.token })).body.data.ledger).toEqual([]);
    expectError(await api.call('GET', '/api/v1/distributors/me', { token: other.token }), 404, 'RESOURCE_NOT_FOUND');
    const entry = mine.body.data.ledger[0].id;
    expectError(await api.call('POST', `/api/v1/distributors/ledger/${entry}/pay`, { token: dist.token }), 403, 'INSUFFICIENT_PERMISSIONS');
    expect((await api.call('POST', `/api/v1/distributors/ledger/${entry}/pay`, { token: admin })).body.data).toEqual({ id: entry, status: 'paid' });
    expectError(await api.call('POST', `/api/v1/distributors/ledger/${entry}/pay`, { token: admin }), 409, 'CONFLICT');
    expectError(await api.call('POST', '/api/v1/distributors/ledger/99999999/pay', { token: admin }), 404, 'RESOURCE_NOT_FOUND');
    expect((await api.call('GET', '/api/v1/distributors/ledger', { token: dist.token })).body.data.totals).toEqual({ pending_cents: 150, paid_cents: 150 });
    expect((await api.call('GET', '/api/v1/distributors?status=approved', { token: admin })).body.data.distributors.map((d: { user_id: number }) => d.user_id)).toContain(dist.id);
  });
});
