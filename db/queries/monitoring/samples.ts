import type { Knex } from 'knex';
import { notify } from '../../notifications';
import { NOTIFY_CHANNELS } from '../../../shared/monitoring/live';

export interface Sample {
  source: string;
  kind: 'host' | 'platform';
  hostId?: number | null;
  host?: string | null;
  at?: Date;
  values: Record<string, number>;
}

/** Seed 003's system_status message from a host's metric values. */
export function systemStatus(host: string | null, v: Record<string, number>) {
  const n = (k: string) => (Number.isFinite(v[k]) ? v[k] : null);
  return {
    host, cpu_usage: n('system.cpu.usage'), memory_usage: n('system.memory.usage'), disk_usage: n('system.disk.usage'),
    network_traffic: { bytes_sent: n('system.network.bytes_sent'), bytes_recv: n('system.network.bytes_recv') },
  };
}

/** Stores one sample and, for a host, tells every API replica (live channel `system`) in the same transaction. */
export async function recordSample(knex: Knex, s: Sample): Promise<void> {
  const values = Object.fromEntries(Object.entries(s.values).filter(([, n]) => Number.isFinite(n)));
  const at = s.at ?? new Date();
  await knex.transaction(async (trx) => {
    await trx('metric_samples').insert({ source: s.source, at, kind: s.kind, host_id: s.hostId ?? null, values: JSON.stringify(values) })
      .onConflict(['source', 'at']).merge(['values']);
    if (s.kind === 'host') {
      await notify(trx, NOTIFY_CHANNELS.monitoring, { event: 'sample', source: s.source, at: at.toISOString(), data: systemStatus(s.host ?? null, values) });
    }
  });
}

/** The latest sample of every source of a kind heard from in the last `freshSeconds`, with its host's name. */
export async function latestSamples(knex: Knex, kind: 'host' | 'platform', freshSeconds: number): Promise<Array<{ source: string; at: Date; values: Record<string, number>; host: string | null }>> {
  const { rows } = await knex.raw(`
    select distinct on (s.source) s.source, s.at, s.values, h.name as host from metric_samples s left join hosts h on h.id = s.host_id
    where s.kind = ? and s.at > now() - make_interval(secs => ?) order by s.source, s.at desc`, [kind, freshSeconds]);
  return rows;
}
