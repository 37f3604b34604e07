import { Model } from 'objection';

/** A login: the access tokens and the refresh-token family issued from one sign-in. */
export class Session extends Model {
  static override tableName = 'sessions';
  id!: string;
  user_id!: number;
  ip!: string | null;
  user_agent!: string | null;
  created_at!: Date;
  expires_at!: Date;
  revoked_at!: Date | null;
}

export class RefreshToken extends Model {
  static override tableName = 'refresh_tokens';
  id!: number;
  session_id!: string;
  token_hash!: string;
  created_at!: Date;
  expires_at!: Date;
  used_at!: Date | null;
}
