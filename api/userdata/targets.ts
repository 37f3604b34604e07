import type { Knex } from 'knex';
import { AppError, forbidden, notFound } from '../../shared/platform/errors';
import { isAdmin, type Principal } from '../platform/auth/principal';

export interface TargetUser {
  id: number;
  username: string;
}

/** Whose data a request means: yourself, or anyone when admin or holding the server token. */
export class UserDataTargets {
  constructor(private readonly knex: Knex) {}

  private async byUsername(username: string): Promise<TargetUser | undefined> {
    return this.knex('users').whereNull('deleted_at').whereRaw('lower(username) = lower(?)', [username]).first('id', 'username');
  }

  /** Seed 004: `username` names the user; another user's data without admin rights is a 403, as the original answered. */
  async byName(principal: Principal, username: string | undefined): Promise<TargetUser> {
    if (!username || (principal.userId !== null && username.toLowerCase() === principal.username.toLowerCase())) {
      if (principal.userId === null) throw new AppError('VALIDATION_ERROR', 'username is required with the server token', { field: 'username', errors: [{ field: 'username', location: 'body', message: 'is required with the server token' }] });
      return { id: principal.userId, username: principal.username };
    }
    if (!isAdmin(principal)) throw forbidden('You can only act on your own data');
    const user = await this.byUsername(username);
    if (!user) throw notFound('user', username);
    return user;
  }

  /** /api/v1: `user_id` names the user; for anyone but an admin another user's data does not exist (404). */
  async byId(principal: Principal, userId: number | undefined): Promise<TargetUser> {
    if (userId === undefined || userId === principal.userId) return this.byName(principal, undefined);
    if (!isAdmin(principal)) throw notFound('user', userId);
    const user = await this.knex('users').whereNull('deleted_at').where({ id: userId }).first('id', 'username');
    if (!user) throw notFound('user', userId);
    return user;
  }
}
