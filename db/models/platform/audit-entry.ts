import { Model } from 'objection';

export class AuditEntry extends Model {
  static override tableName = 'audit_log';
  static override jsonAttributes = ['details'];
  id!: number;
  at!: Date;
  level!: string;
  module!: string;
  action!: string;
  message!: string;
  user_id!: number | null;
  username!: string | null;
  ip_address!: string | null;
  request_id!: string | null;
  resource_type!: string | null;
  resource_id!: string | null;
  details!: Record<string, unknown>;
}
