import os from 'node:os';
import type { AppDeps } from '../../platform/deps';
import { VERSION } from '../../../shared/platform/version';
import { SettingsStore } from './store';

const started = Date.now();

function humanUptime(seconds: number) {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d ? `${d} days ${h} hours` : h ? `${h} hours ${m} minutes` : `${m} minutes`;
}

/** Seed 004's get_server_info: version and status for anyone signed in; stats, system and config for admins. */
export class ServerInfo {
  private readonly settings: SettingsStore;
  constructor(private readonly deps: AppDeps) {
    this.settings = new SettingsStore(deps, 0);
  }

  async describe(opts: { admin: boolean; includeStats: boolean; includeConfig: boolean }) {
    const { knex } = this.deps;
    const settings = await this.settings.read();
    const uptime = Math.round((Date.now() - started) / 1000);
    const info: Record<string, unknown> = {
      version: VERSION,
      status: {
        uptime: humanUptime(uptime), uptime_seconds: uptime, current_time: new Date().toISOString().replace('T', ' ').slice(0, 19),
        timezone: Intl.DateTimeFormat().resolvedOptions().timeZone, maintenance_mode: settings.app_settings.maintenance_mode,
      },
    };
    if (!opts.admin) return info;
    if (opts.includeStats) {
      const [users] = await knex('users').whereNull('deleted_at').select(knex.raw('count(*)::int as total'), knex.raw("count(*) filter (where last_login > now() - interval '30 days')::int as active"));
      const { rows } = await knex.raw('select pg_size_pretty(pg_database_size(current_database())) as size');
      const memory = 1 - os.freemem() / os.totalmem();
      info.stats = {
        total_users: users.total, active_users: users.active,
        cpu_usage: Math.round((os.loadavg()[0] / os.cpus().length) * 1000) / 10,
        memory_usage: Math.round(memory * 1000) / 10,
        database_size: rows[0].size,
      };
    }
    const { rows: version } = await knex.raw('select version() as v');
    info.system = { os: `${os.type()} ${os.release()}`, node_version: process.version, database: String(version[0].v).split(' on ')[0], host: os.hostname() };
    if (opts.includeConfig) info.config = settings;
    return info;
  }
}
