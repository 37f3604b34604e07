import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { html } from './html';

export interface Point { t: number; v: number }

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
 * A line chart of one series drawn by uPlot (axes in the series' unit, a cursor that reads the values), with its latest
 * value in the caption and its range as the figure's label, so that a screen reader has the same figures as the picture.
 */
export function LineChart({ title, points, unit, ceiling }: { title: string; points: Point[]; unit: string; ceiling?: number | null }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current || !points.length) return;
    const ys = points.map((p) => p.v);
    const top = Math.max(ceiling ?? 0, ...ys) || 1;
    const plot = new uPlot({
      width: box.current.clientWidth || 300, height: 120, legend: { show: false },
      scales: { x: { time: true }, y: { range: [Math.min(0, ...ys), top] } },
      axes: [{ size: 28 }, { size: 66, values: (_u, ticks) => ticks.map((v) => formatValue(v, unit)) }],
      series: [{}, { label: title, stroke: '#2f5bd3', fill: 'rgba(47, 91, 211, 0.12)', width: 2, value: (_u, v) => (v == null ? '' : formatValue(v, unit)) }],
    }, [points.map((p) => p.t / 1000), ys], box.current);
    const resize = new ResizeObserver(() => { if (box.current?.clientWidth) plot.setSize({ width: box.current.clientWidth, height: 120 }); });
    resize.observe(box.current);
    return () => { resize.disconnect(); plot.destroy(); };
  }, [points, unit, ceiling, title]);
  if (!points.length) return null;
  const ys = points.map((p) => p.v);
  const last = ys[ys.length - 1];
  const summary = `${title}: ${formatValue(last, unit)} (${formatValue(Math.min(...ys), unit)} – ${formatValue(Math.max(...ys), unit)}, ${clock(points[0].t)} – ${clock(points[points.length - 1].t)})`;
  return html`<figure class="chart">
    <figcaption>${title} <strong>${formatValue(last, unit)}</strong></figcaption>
    <div class="plot" ref=${box} role="img" aria-label=${summary} data-points=${points.length}></div>
  </figure>`;
}
