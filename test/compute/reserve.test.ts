import { createKnex } from '../../db/knex';
import { loadConfig } from '../../shared/platform/config';
import { createLogger } from '../../shared/platform/logger';
import { createComputeActivities } from '../../activities/compute/activities';
import { type InstanceRequest } from '../../shared/compute/contracts';
import { uniq } from '../support/compute';

/**
 * The create runbook's reservation is a local activity: after a worker or Temporal hiccup a second attempt can run
 * beside a first one that is still in its transaction. Both belong to one operation and must end with one row, never a
 * uuid conflict with itself.
 */
const knex = createKnex(process.env.DATABASE_URL!, 4);
const activities = createComputeActivities({ knex, config: loadConfig(process.env), logger: createLogger('silent') });
afterAll(async () => { await knex.destroy(); });

const request = (uuid: string, hostId: number): InstanceRequest => ({
  uuid, name: uuid, image: null, osName: null, command: null, cpu: 1, ramMb: 64, diskGb: 1, nics: [], hostId, engineType: 'simulator', ownerId: null,
});

describe('reserving an instance, attempt by attempt', () => {
  it('gives concurrent attempts of one operation one row, passes its own re-validation, and gives another operation with the same uuid a conflict', async () => {
    const [host] = await knex('hosts').insert({ name: uniq('reserve'), address: 'local', engine_type: 'simulator' }).returning('id');
    const uuid = uniq('vm');
    const operationId = `instance.create-${uuid}`;
    const attempts = await Promise.allSettled([0, 1, 2].map(() => activities.reserveInstance({ operationId, hostId: host.id, request: request(uuid, host.id) })));
    const answered = attempts.filter((a) => a.status === 'fulfilled').map((a) => (a as PromiseFulfilledResult<{ id: number }>).value.id);
    const refused = attempts.filter((a) => a.status === 'rejected').map((a) => (a as PromiseRejectedResult).reason as { type?: string });
    expect(answered.length).toBeGreaterThanOrEqual(1);
    expect(new Set(answered).size).toBe(1);
    // An attempt that lost the race fails retryably (the unique index), never as this operation's own conflict.
    expect(refused.filter((r) => r.type === 'CONFLICT')).toEqual([]);
    expect((await activities.reserveInstance({ operationId, hostId: host.id, request: request(uuid, host.id) })).id).toBe(answered[0]);
    expect(await knex('instances').where({ uuid }).count('* as n')).toEqual([{ n: 1 }]);

    // Validation re-run by the same operation after its reservation (a local activity's result lost in a restart) passes.
    await expect(activities.validateInstanceCreate({ request: request(uuid, host.id), operationId })).resolves.toEqual({ ok: true });
    await expect(activities.validateInstanceCreate({ request: request(uuid, host.id), operationId: `${operationId}-other` })).rejects.toMatchObject({ type: 'CONFLICT' });
    await expect(activities.reserveInstance({ operationId: `${operationId}-other`, hostId: host.id, request: request(uuid, host.id) })).rejects.toMatchObject({ type: 'CONFLICT' });
  });
});
