import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import archiver from 'archiver';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ActivityDeps } from '../platform/deps';
import { USER_EXPORTERS } from './export';

const BACKUP_DIR = path.join('backups', 'users');

async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const stamp = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(0, 14);

export function createUserActivities({ knex, config }: ActivityDeps) {
  return {
    async checkUserDeletable({ userId }: { userId: number }) {
      const user = await knex('users').where({ id: userId }).whereNull('deleted_at').first('id', 'username', 'email', 'role', 'is_active');
      if (!user) {
        // Already deleted by an earlier attempt of this very operation counts as done, so look for the soft-deleted row too.
        const deleted = await knex('users').where({ id: userId }).first('id', 'username', 'email');
        if (deleted) return { id: deleted.id as number, username: deleted.username as string, email: deleted.email as string | null };
        throw ApplicationFailure.nonRetryable(`user ${userId} not found`, 'RESOURCE_NOT_FOUND', { resource: 'user', id: String(userId) });
      }
      if (user.role === 'admin' && user.is_active) {
        const others = await knex('users').where({ role: 'admin', is_active: true }).whereNull('deleted_at').whereNot('id', userId).count<{ count: number }[]>('* as count');
        if (Number(others[0].count) === 0) throw ApplicationFailure.nonRetryable('This is the last active admin; make another admin first', 'CONFLICT');
      }
      return { id: user.id as number, username: user.username as string, email: user.email as string | null };
    },

    /** Writes everything of the user's into a zip under the data dir; a retry finds the finished archive and returns it. */
    async exportUserBackup({ operationId, userId }: { operationId: string; userId: number }) {
      const done = await knex('user_backups').where({ operation_id: operationId }).first();
      if (done && fs.existsSync(path.join(config.dataDir, done.file_path))) {
        return { id: done.id as number, file: done.file_path as string, sha256: done.sha256 as string, size: Number(done.size_bytes) };
      }
      const user = await knex('users').where({ id: userId }).first('username');
      if (!user) throw ApplicationFailure.nonRetryable(`user ${userId} not found`, 'RESOURCE_NOT_FOUND');
      const op = await knex('operations').where({ id: operationId }).first('created_at');
      const suffix = crypto.createHash('sha256').update(operationId).digest('hex').slice(0, 8);
      const relative = path.join(BACKUP_DIR, `${user.username}_${stamp(new Date(op?.created_at ?? Date.now()))}_${suffix}.zip`);
      const target = path.join(config.dataDir, relative);
      fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });

      const temp = `${target}.partial`;
      const manifest: Record<string, unknown> = { format: 'idcflow-user-backup/1', operation_id: operationId, user_id: userId, username: user.username, created_at: new Date().toISOString(), files: {} };
      await new Promise<void>((resolve, reject) => {
        const output = fs.createWriteStream(temp, { mode: 0o600 });
        const zip = archiver('zip', { zlib: { level: 9 } });
        output.on('close', () => resolve());
        zip.on('error', reject);
        zip.pipe(output);
        (async () => {
          for (const exporter of USER_EXPORTERS) {
            Context.current().heartbeat(exporter.file);
            const data = await exporter.collect(knex, userId);
            (manifest.files as Record<string, number>)[exporter.file] = Array.isArray(data) ? data.length : data ? 1 : 0;
            zip.append(JSON.stringify(data ?? null, null, 2), { name: exporter.file });
          }
          zip.append(JSON.stringify(manifest, null, 2), { name: 'manifest.json' });
          await zip.finalize();
        })().catch(reject);
      });
      const sha256 = await sha256File(temp);
      fs.renameSync(temp, target);
      fs.writeFileSync(`${target}.sha256`, `${sha256}  ${path.basename(target)}\n`, { mode: 0o600 });
      const size = fs.statSync(target).size;
      const [row] = await knex('user_backups')
        .insert({ user_id: userId, username: user.username, operation_id: operationId, file_path: relative, size_bytes: size, sha256 })
        .onConflict('operation_id').merge(['file_path', 'size_bytes', 'sha256'])
        .returning('id');
      return { id: row.id as number, file: relative, sha256, size };
    },

    /** Undo of exportUserBackup, for an operation that did not get as far as deleting the user. */
    async removeUserBackup({ operationId }: { operationId: string }) {
      const row = await knex('user_backups').where({ operation_id: operationId }).first();
      if (!row) return;
      const file = path.join(config.dataDir, row.file_path);
      fs.rmSync(file, { force: true });
      fs.rmSync(`${file}.sha256`, { force: true });
      await knex('user_backups').where({ id: row.id }).delete();
    },

    /** Soft delete keeps the row (deactivated, marked); hard delete removes it. Sessions and API tokens end either way. */
    async deleteUserRecord({ operationId, userId, permanent, reason }: { operationId: string; userId: number; permanent: boolean; reason: string | null }) {
      return knex.transaction(async (trx) => {
        const op = await trx('operations').where({ id: operationId }).first('params');
        const recorded = (op?.params as { deleted_at?: string } | undefined)?.deleted_at;
        if (recorded) return { deletedAt: recorded };
        const deletedAt = new Date().toISOString();
        await trx('sessions').where({ user_id: userId }).whereNull('revoked_at').update({ revoked_at: deletedAt });
        await trx('api_tokens').where({ user_id: userId }).whereNull('revoked_at').update({ revoked_at: deletedAt });
        if (permanent) {
          await trx('users').where({ id: userId }).delete();
        } else {
          await trx('users').where({ id: userId }).whereNull('deleted_at')
            .update({ deleted_at: deletedAt, deleted_reason: reason, is_active: false, updated_at: deletedAt });
        }
        await trx('operations').where({ id: operationId }).update({ params: trx.raw(`params || ?::jsonb`, [JSON.stringify({ deleted_at: deletedAt })]) });
        await trx('audit_log').insert({
          module: 'users', action: permanent ? 'hard_delete' : 'soft_delete', message: `User ${userId} deleted`, user_id: null,
          resource_type: 'user', resource_id: String(userId), details: JSON.stringify({ operation_id: operationId, reason }),
        });
        return { deletedAt };
      });
    },
  };
}

export type UserActivities = ReturnType<typeof createUserActivities>;
