import { useState } from 'preact/hooks';
import { html } from '../html';
import { t } from '../i18n';
import { useApi, Table, ErrorBox, show } from '../ui';
import { LineChart, formatValue, type Point } from '../chart';

interface MetricPoint { name: string; value: number; timestamp: string; metadata: { unit: string; max: number | null } }
interface Alert { id: string; name: string; level: string; metric_name: string; host: string | null; source: string; threshold_value: number; current_value: number | null; created_at: string }

/** The host figures charted, in this order (GET /monitoring/metrics/system answers every system.* series at once). */
const CHARTS: Array<[string, string, string]> = [
  ['system.cpu.usage', 'CPU', 'CPU'], ['system.memory.usage', 'Memory', '内存'], ['system.disk.usage', 'Disk', '磁盘'],
  ['system.load.1', 'Load (1 min)', '负载（1 分钟）'], ['system.network.bytes_recv_rate', 'Network in', '网络流入'], ['system.network.bytes_sent_rate', 'Network out', '网络流出'],
];

/** Charts of the hosts' metrics over a period, for every host combined or one host. */
export function HostMetrics({ zh }: { zh: boolean }) {
  const [host, setHost] = useState('');
  const [hours, setHours] = useState(1);
  const hosts = useApi<{ hosts: Array<{ name: string }> }>('/api/v1/hosts?size=100');
  const series = useApi<MetricPoint[]>(`/api/v1/monitoring/metrics/system?hours=${hours}${host ? `&host=${encodeURIComponent(host)}` : ''}`);
  const byName = new Map<string, { unit: string; max: number | null; points: Point[] }>();
  for (const p of series.data ?? []) {
    const s = byName.get(p.name) ?? { unit: p.metadata.unit, max: p.metadata.max, points: [] };
    s.points.push({ t: Date.parse(p.timestamp), v: p.value });
    byName.set(p.name, s);
  }
  for (const s of byName.values()) s.points.sort((a, b) => a.t - b.t);
  const shown = CHARTS.filter(([name]) => byName.get(name)?.points.length);
  return html`<div class="metrics">
    <div class="filters">
      <label>${t('host')} <select value=${host} onChange=${(e: Event) => setHost((e.target as HTMLSelectElement).value)}>
        <option value="">${t('allHosts')}</option>${(hosts.data?.hosts ?? []).map((h) => html`<option value=${h.name}>${h.name}</option>`)}</select></label>
      <label>${t('lastHours')} <select value=${hours} onChange=${(e: Event) => setHours(Number((e.target as HTMLSelectElement).value))}>
        <option value="1">${t('hour')}</option><option value="6">${t('hours6')}</option><option value="24">${t('hours24')}</option></select></label>
    </div>
    ${series.error ? html`<${ErrorBox} error=${series.error} />` : series.loading && !series.data ? html`<p aria-busy="true">${t('loading')}</p>`
      : shown.length ? html`<div class="charts">${shown.map(([name, en, cn]) => {
        const s = byName.get(name)!;
        return html`<${LineChart} key=${name} title=${zh ? cn : en} points=${s.points} unit=${s.unit} ceiling=${s.unit === 'percent' ? 100 : s.max} />`;
      })}</div>` : html`<p class="empty">${t('noData')}</p>`}
  </div>`;
}

/** The alerts firing now, newest first. */
export function ActiveAlerts() {
  const alerts = useApi<Alert[]>('/api/v1/monitoring/alerts/active');
  if (alerts.data && !alerts.data.length) return html`<p class="empty">${t('noAlerts')}</p>`;
  return html`<${Table} caption=${t('activeAlerts')} rows=${alerts.data} error=${alerts.error} loading=${alerts.loading} columns=${[
    { key: 'level', label: 'level', render: (a: Alert) => html`<span class="badge level-${a.level.toLowerCase()}">${a.level}</span>` },
    { key: 'name', label: 'name' }, { key: 'host', label: 'host', render: (a: Alert) => a.host ?? a.source },
    { key: 'metric_name', label: 'metric' },
    { key: 'current_value', label: 'value', render: (a: Alert) => (a.current_value === null ? '—' : formatValue(a.current_value, '')) },
    { key: 'threshold_value', label: 'threshold' }, { key: 'created_at', label: 'since', render: (a: Alert) => show(a.created_at) },
  ]} />`;
}
