import { Model } from 'objection';

export class ApiToken extends Model {
  static override tableName = 'api_tokens';
  static override jsonAttributes = ['scopes'];
  id!: number;
  user_id!: number;
  name!: string;
  prefix!: string;
  token_hash!: string;
  scopes!: string[];
  expires_at!: Date | null;
  last_used_at!: Date | null;
  revoked_at!: Date | null;
  created_at!: Date;
}
