import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { fail } from '../platform/failure';

/** libpq's environment for a postgres:// URL, so no password appears on a command line. */
export function pgEnv(databaseUrl: string, appName: string): NodeJS.ProcessEnv {
  const url = new URL(databaseUrl);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    PGHOST: decodeURIComponent(url.hostname.replace(/^\[|\]$/g, '')) || '127.0.0.1',
    PGPORT: url.port || '5432',
    PGUSER: decodeURIComponent(url.username),
    PGDATABASE: decodeURIComponent(url.pathname.replace(/^\//, '')),
    PGAPPNAME: appName,
    PGCONNECT_TIMEOUT: '10',
  };
  if (url.password) env.PGPASSWORD = decodeURIComponent(url.password);
  const sslmode = url.searchParams.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  return env;
}

/** Runs one of PostgreSQL's client programs; its stderr is the failure's message. */
export function runPgTool(binDir: string, program: 'pg_dump' | 'pg_restore', args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const bin = path.join(binDir, program);
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { err = (err + c.toString()).slice(-4000); });
    child.once('error', (e) => reject(e));
    child.once('close', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${program} failed (${signal ?? `exit ${code}`}): ${err.trim()}`));
    });
  });
}

const majorOf = (version: string) => Number(/(\d+)(?:\.\d+)?/.exec(version)?.[1] ?? 0);

/**
 * The server's and the tools' versions; the tools must be of the server's major version at least (pg_dump refuses an
 * older client, and pg_restore of an older major cannot read a newer archive).
 */
export async function checkPgTools(knex: Knex, binDir: string): Promise<{ server_version: string; pg_dump_version: string }> {
  for (const program of ['pg_dump', 'pg_restore']) {
    if (!fs.existsSync(path.join(binDir, program))) {
      throw fail(`${program} not found in ${binDir}: run scripts/pg-tools.sh or set IDCFLOW_PG_BIN_DIR to PostgreSQL's client tools of the server's major version`, 'SERVICE_UNAVAILABLE', { reason: 'pg_tools_missing', dir: binDir });
    }
  }
  const server = String((await knex.raw('SHOW server_version')).rows[0].server_version);
  const tool = (await runPgTool(binDir, 'pg_dump', ['--version'], { PATH: process.env.PATH })).trim();
  if (majorOf(tool.replace(/^pg_dump \(PostgreSQL\) /, '')) < majorOf(server)) {
    throw fail(`${tool} cannot back up PostgreSQL ${server}: set IDCFLOW_PG_BIN_DIR to the client tools of major version ${majorOf(server)}`, 'SERVICE_UNAVAILABLE', { reason: 'pg_tools_too_old' });
  }
  return { server_version: server, pg_dump_version: tool };
}
