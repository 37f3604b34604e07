import { createKnex } from '../../db/knex';
import { Notifications, notify } from '../../db/notifications';
import { createLogger } from '../../shared/platform/logger';
import { eventually } from '../support/api';

const url = process.env.DATABASE_URL!;
const knex = createKnex(url, 2);
const logger = createLogger('silent');
const a = new Notifications(url, logger);
const b = new Notifications(url, logger);
afterAll(async () => { await Promise.all([a.close(), b.close(), knex.destroy()]); });

describe('notifications through PostgreSQL LISTEN/NOTIFY', () => {
  it('reaches every process listening on the channel, and only that channel', async () => {
    const gotA: unknown[] = [];
    const gotB: unknown[] = [];
    const other: unknown[] = [];
    await a.subscribe('idcflow_test_one', (p) => gotA.push(p));
    await b.subscribe('idcflow_test_one', (p) => gotB.push(p));
    await b.subscribe('idcflow_test_two', (p) => other.push(p));
    await notify(knex, 'idcflow_test_one', { n: 1, text: 'x' });
    await eventually(async () => gotA.length === 1 && gotB.length === 1, 5_000, 'both listeners');
    expect(gotA).toEqual([{ n: 1, text: 'x' }]);
    expect(gotB).toEqual([{ n: 1, text: 'x' }]);
    expect(other).toEqual([]);
  });

  it('comes back after its connection is killed, and says so to whoever caches', async () => {
    const got: unknown[] = [];
    let reconnects = 0;
    const c = new Notifications(url, logger);
    try {
      c.onReconnect(() => { reconnects += 1; });
      await c.subscribe('idcflow_test_three', (p) => got.push(p));
      await knex.raw(`select pg_terminate_backend(pid) from pg_stat_activity where query = 'LISTEN "idcflow_test_three"'`);
      await eventually(async () => reconnects >= 2 && c.listening, 10_000, 'the reconnection');
      await notify(knex, 'idcflow_test_three', 'after');
      await eventually(async () => got.length === 1, 5_000, 'a notification after reconnecting');
      expect(got).toEqual(['after']);
    } finally {
      await c.close();
    }
  });
});
