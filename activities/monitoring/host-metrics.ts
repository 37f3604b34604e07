import fs from 'node:fs';
import os from 'node:os';

export interface NetworkCounters { bytes_recv: number; packets_recv: number; bytes_sent: number; packets_sent: number }

/** `/proc/net/dev` summed over every interface but loopback (null where the file is not there). */
export function parseNetDev(text: string): NetworkCounters {
  const sum = { bytes_recv: 0, packets_recv: 0, bytes_sent: 0, packets_sent: 0 };
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m || m[1].trim() === 'lo') continue;
    const f = m[2].trim().split(/\s+/).map(Number);
    if (f.length < 16) continue;
    sum.bytes_recv += f[0];
    sum.packets_recv += f[1];
    sum.bytes_sent += f[8];
    sum.packets_sent += f[9];
  }
  return sum;
}

function readNetwork(): NetworkCounters | null {
  try {
    return parseNetDev(fs.readFileSync('/proc/net/dev', 'utf8'));
  } catch {
    return null;
  }
}

/**
 * This machine's figures as metric values (names of shared/monitoring/metrics.ts). CPU usage and network rates are
 * measured since the previous call of the same collector; a figure the machine does not give is left out.
 */
/** CPU usage in percent since the previous call of the same meter (null the first time nothing has elapsed), and the cores. */
export function cpuMeter() {
  let last = os.cpus().map((c) => c.times);
  return (): { percent: number | null; cores: number } => {
    const now = os.cpus().map((c) => c.times);
    let busy = 0, total = 0;
    now.forEach((t, i) => {
      const p = last[i] ?? t;
      const idle = t.idle - p.idle;
      const all = (t.user - p.user) + (t.nice - p.nice) + (t.sys - p.sys) + (t.irq - p.irq) + idle;
      busy += all - idle;
      total += all;
    });
    last = now;
    return { percent: total > 0 ? Math.round((busy / total) * 1000) / 10 : null, cores: now.length };
  };
}

export function hostMetricsCollector() {
  const cpu = cpuMeter();
  let lastNet: { at: number; counters: NetworkCounters } | null = null;
  return (): Record<string, number> => {
    const v: Record<string, number> = {};
    const { percent, cores } = cpu();
    if (percent !== null) v['system.cpu.usage'] = percent;
    v['system.cpu.cores'] = cores;
    const [l1, l5, l15] = os.loadavg();
    Object.assign(v, { 'system.load.1': l1, 'system.load.5': l5, 'system.load.15': l15 });
    const memTotal = os.totalmem(), memFree = os.freemem();
    Object.assign(v, {
      'system.memory.total': memTotal, 'system.memory.used': memTotal - memFree, 'system.memory.free': memFree,
      'system.memory.usage': Math.round(((memTotal - memFree) / memTotal) * 1000) / 10,
    });
    try {
      const s = fs.statfsSync('/');
      const diskTotal = s.blocks * s.bsize, diskFree = s.bavail * s.bsize, diskUsed = (s.blocks - s.bfree) * s.bsize;
      Object.assign(v, {
        'system.disk.total': diskTotal, 'system.disk.used': diskUsed, 'system.disk.free': diskFree,
        'system.disk.usage': diskTotal ? Math.round((diskUsed / diskTotal) * 1000) / 10 : 0,
      });
    } catch { /* no root filesystem figures */ }
    const net = readNetwork();
    if (net) {
      for (const [k, n] of Object.entries(net)) v[`system.network.${k}`] = n;
      const at = Date.now();
      if (lastNet && at > lastNet.at) {
        const dt = (at - lastNet.at) / 1000;
        v['system.network.bytes_sent_rate'] = Math.max(0, (net.bytes_sent - lastNet.counters.bytes_sent) / dt);
        v['system.network.bytes_recv_rate'] = Math.max(0, (net.bytes_recv - lastNet.counters.bytes_recv) / dt);
      }
      lastNet = { at, counters: net };
    }
    v['system.uptime'] = Math.round(os.uptime());
    return v;
  };
}
