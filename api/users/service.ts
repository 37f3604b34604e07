import { z } from 'zod';
import { conflict, forbidden, notFound, uniqueOr409 } from '../../shared/platform/errors';
import { ROLE_PERMISSIONS, ROLES } from '../../shared/platform/permissions';
import { User } from '../../db/models/users/user';
import type { AppDeps } from '../platform/deps';
import { isAdmin, type Principal } from '../platform/auth/principal';
import { iso, likePattern, paginateRows } from '../platform/http/schemas';
import { audit } from '../platform/audit';
import { hashPassword } from '../../shared/platform/passwords';
import type { Caller } from '../platform/caller';
import { PasswordRules } from '../userdata/settings/enforce';
import { EmailVerificationService, emailChange } from '../platform/email-verification';
import { CurrentPassword } from '../platform/auth/current-password';
import { endUserCredentials, type EndedCredentials } from '../../db/queries/platform/user-credentials';

export const password = z.string().min(8, 'must be at least 8 characters').max(256);
export const username = z.string().min(3, 'must be at least 3 characters').max(64).regex(/^[A-Za-z0-9_.-]+$/, 'may hold letters, digits, _ . - only');

export const userSchema = z.object({
  id: z.number(),
  username: z.string(),
  email: z.string().nullable(),
  full_name: z.string().nullable(),
  role: z.enum(ROLES),
  is_active: z.boolean(),
  email_verified: z.boolean(),
  permissions: z.array(z.string()),
  last_login: z.string().nullable(),
  created_at: z.string().nullable(),
  updated_at: z.string().nullable(),
});

export const presentUser = (u: User) => ({
  id: u.id,
  username: u.username,
  email: u.email,
  full_name: u.full_name,
  role: u.role,
  is_active: u.is_active,
  email_verified: u.email_verified,
  permissions: ROLE_PERMISSIONS[u.role],
  last_login: iso(u.last_login),
  created_at: iso(u.created_at),
  updated_at: iso(u.updated_at),
});

export const createUserBody = z.object({
  username,
  email: z.email().max(255),
  password,
  full_name: z.string().max(255).optional(),
  role: z.enum(ROLES).default('user'),
  is_active: z.boolean().default(true),
});

export const updateUserBody = z
  .object({
    username: username.optional(),
    email: z.email().max(255).optional(),
    full_name: z.string().max(255).nullable().optional(),
    role: z.enum(ROLES).optional(),
    is_active: z.boolean().optional(),
  })
  .strict();

export const listUsersQuery = z.object({
  search: z.string().max(100).optional(),
  role: z.enum(ROLES).optional(),
  is_active: z.enum(['true', 'false']).optional(),
});

export class UserService {
  private readonly passwords: PasswordRules;
  private readonly currentPassword: CurrentPassword;
  constructor(private readonly deps: AppDeps) {
    this.passwords = new PasswordRules(deps);
    this.currentPassword = new CurrentPassword(deps.knex, deps.config.login);
  }

  async find(id: number): Promise<User> {
    const user = await User.live().findById(id);
    if (!user) throw notFound('user', id);
    return user;
  }

  async findByUsername(name: string): Promise<User> {
    const user = await User.live().whereRaw('lower(username) = lower(?)', [name]).first();
    if (!user) throw notFound('user', name);
    return user;
  }

  /** Users read themselves; admins read anyone. A non-admin asking for another id gets the same 404 as a missing one. */
  async visible(principal: Principal, id: number): Promise<User> {
    if (!isAdmin(principal) && principal.userId !== id) throw notFound('user', id);
    return this.find(id);
  }

  /** Plain rows, not models: the page is presented as read (the hottest admin list; see the list figures in the README). */
  async list(q: z.infer<typeof listUsersQuery> & { page: number; size: number }) {
    const query = User.live().orderBy('id').toKnexQuery();
    if (q.search) {
      const like = likePattern(q.search);
      query.where((w) => w.whereILike('username', like).orWhereILike('email', like).orWhereILike('full_name', like));
    }
    if (q.role) query.where('role', q.role);
    if (q.is_active) query.where('is_active', q.is_active === 'true');
    const { rows, pagination } = await paginateRows<User>(query, q.page, q.size);
    return { users: rows.map(presentUser), pagination };
  }

  async create(caller: Caller, body: z.infer<typeof createUserBody>) {
    await this.passwords.check(body.password);
    return uniqueOr409(async () => {
      const user = await User.query().insertAndFetch({
        username: body.username,
        email: body.email,
        full_name: body.full_name ?? null,
        role: body.role,
        is_active: body.is_active,
        password_hash: await hashPassword(body.password),
        password_changed_at: new Date(),
      });
      await audit(this.deps.knex, caller, { module: 'users', action: 'create', message: `User ${user.username} created`, resourceType: 'user', resourceId: user.id });
      return presentUser(user);
    }, `Username ${body.username} is taken`, 'username');
  }

  async update(caller: Caller, id: number, body: z.infer<typeof updateUserBody>) {
    const user = await this.visible(caller.principal, id);
    const admin = isAdmin(caller.principal);
    if (!admin && (body.role !== undefined || body.is_active !== undefined || body.username !== undefined)) throw forbidden('Only an admin can change username, role or is_active');
    if (admin && caller.principal.userId === id && (body.role && body.role !== 'admin' || body.is_active === false)) {
      await this.ensureAnotherAdmin(id);
    }
    const change = emailChange(user.email, body.email);
    const { email: _email, ...rest } = body;
    const updated = await uniqueOr409(async () => User.query().patchAndFetchById(user.id, { ...rest, ...(change ?? {}), updated_at: new Date() }), `Username ${body.username} is taken`, 'username');
    if (change) await new EmailVerificationService(this.deps).changed(caller, user.id, change.email);
    await audit(this.deps.knex, caller, { module: 'users', action: 'update', message: `User ${user.username} updated`, resourceType: 'user', resourceId: id, details: { fields: Object.keys(body) } });
    return presentUser(updated);
  }

  /**
   * Sets a user's password: one's own with the current password (admins too: a stolen session cannot take the account;
   * wrong ones are paced per account), anyone's for an admin without it. Whatever the old password let in ends: every
   * session of the user but the one making a self-service change, every OAuth grant with its codes and tokens, and the
   * user's API tokens when `revoke_api_tokens` asks for it. Answers how many of each ended.
   */
  async resetPassword(caller: Caller, id: number, body: { new_password: string; current_password?: string; revoke_api_tokens?: boolean }): Promise<EndedCredentials> {
    const user = await this.visible(caller.principal, id);
    const self = caller.principal.userId === id;
    await this.passwords.check(body.new_password, 'new_password');
    if (self || !isAdmin(caller.principal)) await this.currentPassword.verify(id, body.current_password, 'current_password');
    const hash = await hashPassword(body.new_password);
    const ended = await this.deps.knex.transaction(async (trx) => {
      await User.query(trx).findById(id).patch({ password_hash: hash, password_changed_at: new Date(), updated_at: new Date() });
      return endUserCredentials(trx, id, { keepSessionId: self ? caller.principal.sessionId : undefined, revokeApiTokens: body.revoke_api_tokens ?? false });
    });
    await audit(this.deps.knex, caller, {
      module: 'users', action: 'reset_password', message: `Password of ${user.username} ${self ? 'changed' : 'reset'}`, resourceType: 'user', resourceId: id, details: { ...ended },
    });
    return ended;
  }

  async toggleStatus(caller: Caller, id: number) {
    const user = await this.find(id);
    if (caller.principal.userId === id) throw conflict('You cannot disable your own account');
    const updated = await User.query().patchAndFetchById(id, { is_active: !user.is_active, updated_at: new Date() });
    if (!updated.is_active) await this.deps.knex('sessions').where({ user_id: id }).whereNull('revoked_at').update({ revoked_at: this.deps.knex.fn.now() });
    await audit(this.deps.knex, caller, { module: 'users', action: updated.is_active ? 'enable' : 'disable', message: `User ${user.username} ${updated.is_active ? 'enabled' : 'disabled'}`, resourceType: 'user', resourceId: id });
    return presentUser(updated);
  }

  async stats() {
    const { knex } = this.deps;
    const [totals] = await knex('users').whereNull('deleted_at').select(
      knex.raw('count(*)::int as total'),
      knex.raw('count(*) filter (where is_active)::int as active'),
      knex.raw("count(*) filter (where last_login > now() - interval '1 day')::int as logged_in_24h"),
      knex.raw("count(*) filter (where created_at > now() - interval '7 days')::int as created_7d"),
    );
    const byRole = await knex('users').whereNull('deleted_at').groupBy('role').select('role', knex.raw('count(*)::int as count'));
    const deleted = await knex('users').whereNotNull('deleted_at').count<{ count: number }[]>('* as count');
    return {
      total_users: totals.total,
      active_users: totals.active,
      inactive_users: totals.total - totals.active,
      deleted_users: Number(deleted[0].count),
      logged_in_last_24h: totals.logged_in_24h,
      created_last_7d: totals.created_7d,
      by_role: Object.fromEntries(ROLES.map((r) => [r, byRole.find((x) => x.role === r)?.count ?? 0])),
    };
  }

  /** Refuses a change that would leave no active admin. */
  async ensureAnotherAdmin(exceptId: number) {
    const others = await User.live().where({ role: 'admin', is_active: true }).whereNot('id', exceptId).resultSize();
    if (others === 0) throw conflict('This is the last active admin; make another admin first');
  }
}
