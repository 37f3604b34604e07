import fs from 'node:fs';
import os from 'node:os';
import type { AppDeps } from '../platform/deps';
import { VERSION } from '../../shared/platform/version';

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The distribution's name from os-release, else the kernel's type. */
function osName(): string {
  for (const file of ['/etc/os-release', '/usr/lib/os-release']) {
    try {
      const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(fs.readFileSync(file, 'utf8'))?.[1];
      if (pretty) return pretty;
    } catch { /* the next file, or the kernel's type */ }
  }
  return os.type();
}

/** When this build was made: the modification time of the running module (dist/ after `npm run build`, the source under tsx). */
function buildDate(): string | null {
  try {
    return fs.statSync(__filename).mtime.toISOString();
  } catch {
    return null;
  }
}

interface PoolFigures { max: number; numUsed(): number; numFree(): number; numPendingAcquires(): number }

/** Seed 003's GET /system/info: this API process's host, the application, and its database (server and pool). */
export class SystemInfoService {
  constructor(private readonly deps: AppDeps) {}

  async info() {
    return { system: this.host(), application: this.application(), database: await this.database() };
  }

  private host() {
    return {
      hostname: os.hostname(), os: osName(), kernel: os.release(), architecture: os.machine(), uptime: Math.round(os.uptime()),
      load_average: os.loadavg().map(round2), cpu_count: os.cpus().length,
      memory: { total_bytes: os.totalmem(), free_bytes: os.freemem() },
    };
  }

  private application() {
    return {
      name: 'idcflow', version: VERSION, build_date: buildDate(), node_version: process.version, environment: this.deps.config.env,
      process: { pid: process.pid, uptime: Math.round(process.uptime()), node_id: this.deps.system.nodeId, memory_rss_bytes: process.memoryUsage.rss() },
    };
  }

  private async database() {
    const pool = (this.deps.knex.client as { pool?: PoolFigures }).pool;
    const poolFigures = {
      pool_size: pool?.max ?? null, active_connections: pool?.numUsed() ?? null, idle_connections: pool?.numFree() ?? null,
      waiting_requests: pool?.numPendingAcquires() ?? null,
    };
    try {
      const { rows } = await this.deps.knex.raw(
        `select current_setting('server_version') as version, current_database() as name, pg_database_size(current_database())::bigint as size,
                (select count(*) from pg_stat_activity where datname = current_database())::int as server_connections,
                current_setting('max_connections')::int as max_connections`,
      );
      const r = rows[0];
      return {
        type: 'PostgreSQL', version: r.version, status: 'connected', name: r.name, size_bytes: Number(r.size),
        server_connections: r.server_connections, max_connections: r.max_connections, ...poolFigures,
      };
    } catch (err) {
      return { type: 'PostgreSQL', version: null, status: 'disconnected', error: (err as Error).message, ...poolFigures };
    }
  }
}
