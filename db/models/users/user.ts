import { Model } from 'objection';
import type { Role } from '../../../shared/platform/permissions';

export class User extends Model {
  static override tableName = 'users';
  static override jsonAttributes = ['profile'];

  id!: number;
  username!: string;
  email!: string | null;
  full_name!: string | null;
  password_hash!: string;
  role!: Role;
  is_active!: boolean;
  email_verified!: boolean;
  /** A self-registered account whose email is not verified yet: it cannot sign in. */
  signup_pending!: boolean;
  last_login!: Date | null;
  last_ip!: string | null;
  login_count!: number;
  failed_login_attempts!: number;
  last_failed_login!: Date | null;
  locked_until!: Date | null;
  password_changed_at!: Date | null;
  profile!: Record<string, unknown>;
  created_at!: Date;
  updated_at!: Date;
  deleted_at!: Date | null;
  deleted_reason!: string | null;

  static live() {
    return User.query().whereNull('deleted_at');
  }
}
