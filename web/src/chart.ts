import { html } from './html';

export interface Point { t: number; v: number }

const W = 320;
const H = 100;

/** A figure in its unit, short: 42.5 %, 1.2 GB, 3.4 MB/s, 0.52. */
export function formatValue(v: number, unit: string): string {
  if (unit === 'percent') return `${v.toFixed(1)} %`;
  if (unit.startsWith('bytes')) {
    const scale = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0;
    for (; Math.abs(v) >= 1024 && i < scale.length - 1; i++) v /= 1024;
    return `${v.toFixed(i ? 1 : 0)} ${scale[i]}${unit.slice(5)}`;
  }
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

const clock = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/**
 * A line chart of one series in plain SVG (no library: a path scaled into a fixed view box), its latest value in the
 * caption and its range as text, so that a screen reader has the same figures as the picture.
 */
export function LineChart({ title, points, unit, ceiling }: { title: string; points: Point[]; unit: string; ceiling?: number | null }) {
  if (!points.length) return null;
  const x0 = points[0].t;
  const x1 = points[points.length - 1].t;
  const ys = points.map((p) => p.v);
  const y0 = Math.min(0, ...ys);
  const y1 = Math.max(ceiling ?? 0, ...ys) || 1;
  const x = (t: number) => (x1 === x0 ? W : ((t - x0) / (x1 - x0)) * W);
  const y = (v: number) => H - ((v - y0) / (y1 - y0)) * H;
  const line = points.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)} ${y(p.v).toFixed(1)}`).join('');
  const last = points[points.length - 1].v;
  const summary = `${title}: ${formatValue(last, unit)} (${formatValue(Math.min(...ys), unit)} – ${formatValue(Math.max(...ys), unit)}, ${clock(x0)} – ${clock(x1)})`;
  return html`<figure class="chart">
    <figcaption>${title} <strong>${formatValue(last, unit)}</strong></figcaption>
    <svg viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label=${summary}>
      <line class="grid" x1="0" x2=${W} y1=${H / 2} y2=${H / 2} />
      <path class="area" d=${`${line}L${x(x1).toFixed(1)} ${H}L${x(x0).toFixed(1)} ${H}Z`} />
      <path class="line" d=${line} vector-effect="non-scaling-stroke" />
    </svg>
    <div class="chart-axis"><span>${clock(x0)}</span><span>${formatValue(y1, unit)}</span><span>${clock(x1)}</span></div>
  </figure>`;
}
