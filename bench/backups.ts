/**
 * Platform backup benchmark (`npm run bench:backups`): one run on a whole local stack. The database is filled with
 * BENCH_MB (default 200) MB of rows; then a `database` backup and its restore through idcflow (API → operation
 * succeeded) are timed against pg_dump and pg_restore run by hand with the same options on the same database.
 * Throughput is the database's size (pg_database_size) over the time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack } from './support';
import { pgEnv, runPgTool } from '../activities/availability/pg-tools';

const MB = Number(process.env.BENCH_MB ?? 200);

async function main() {
  const stack = await startStack({ IDCFLOW_BACKUP_KEEP_COUNT: '100' });
  const say = (s: string) => console.log(s);
  try {
    const { knex, config, url } = stack;
    await knex.raw('CREATE TABLE bench_payload (id bigserial PRIMARY KEY, body text NOT NULL, n int NOT NULL)');
    // Rows of ~1 kB of hex (compressible about 2:1, like real text), until the table holds BENCH_MB.
    const rows = Math.round((MB * 1024 * 1024) / 1100);
    await knex.raw(`INSERT INTO bench_payload (body, n) SELECT string_agg(md5(g::text || '-' || i::text), '') , g FROM generate_series(1, ${rows}) g, generate_series(1, 32) i GROUP BY g`);
    await knex.raw('VACUUM ANALYZE bench_payload');
    const size = Number((await knex.raw('SELECT pg_database_size(current_database()) AS s')).rows[0].s);
    const sizeMb = size / 1048576;

    const call = async (method: string, p: string, token?: string, body?: unknown) => {
      const res = await fetch(url + p, { method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
      return res.json() as Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const token = (await call('POST', '/api/v1/auth/login', undefined, { username: 'admin', password: config.admin.password })).data.access_token;
    const waitOp = async (id: string) => {
      for (;;) {
        const op = (await call('GET', `/api/v1/operations/${id}/wait?timeout=30`, token)).data;
        if (['succeeded', 'failed', 'canceled'].includes(op.status)) return op;
      }
    };

    // By hand: the same pg_dump and pg_restore invocations the activities make.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idcflow-bench-dump-'));
    const dump = path.join(dir, 'by-hand.dump');
    const env = pgEnv(config.databaseUrl, 'bench-by-hand');
    let t = performance.now();
    await runPgTool(config.backups.pgBinDir, 'pg_dump', ['--format=custom', '--compress=6', '--no-owner', '--no-privileges', '--file', dump], env);
    const rawDump = (performance.now() - t) / 1000;
    t = performance.now();
    await runPgTool(config.backups.pgBinDir, 'pg_restore', ['--clean', '--if-exists', '--single-transaction', '--no-owner', '--no-privileges', '--dbname', env.PGDATABASE!, dump], env);
    const rawRestore = (performance.now() - t) / 1000;

    t = performance.now();
    const started = await call('POST', '/api/v1/backup/backups/create', token, { name: 'bench', backup_type: 'database' });
    const backupOp = await waitOp(started.data.operation.id);
    const viaBackup = (performance.now() - t) / 1000;
    if (backupOp.status !== 'succeeded') throw new Error(`backup ${backupOp.status}: ${JSON.stringify(backupOp.error)}`);
    t = performance.now();
    const restoreStarted = await call('POST', `/api/v1/backup/backups/${started.data.backup_id}/restore`, token);
    const restoreOp = await waitOp(restoreStarted.data.operation.id);
    const viaRestore = (performance.now() - t) / 1000;
    if (restoreOp.status !== 'succeeded') throw new Error(`restore ${restoreOp.status}: ${JSON.stringify(restoreOp.error)}`);
    const archive = backupOp.result.size_bytes / 1048576;
    fs.rmSync(dir, { recursive: true, force: true });

    const row = (what: string, via: number, raw: number) => `| ${what} | ${via.toFixed(2)} s (${(sizeMb / via).toFixed(1)} MB/s) | ${raw.toFixed(2)} s (${(sizeMb / raw).toFixed(1)} MB/s) | ${(raw / via).toFixed(2)} |`;
    say(`Database ${sizeMb.toFixed(0)} MB (pg_database_size), archive ${archive.toFixed(1)} MB; pg_dump/pg_restore 18.6, custom format, compression 6.`);
    say('');
    say('| | through idcflow (API → operation succeeded) | pg_dump / pg_restore by hand | ratio (by hand time / idcflow time) |');
    say('|---|---|---|---|');
    say(row('backup (`database`)', viaBackup, rawDump));
    say(row('restore (one transaction)', viaRestore, rawRestore));
  } finally {
    await stack.stop();
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
