import { Model } from 'objection';

export class UserBackup extends Model {
  static override tableName = 'user_backups';
  id!: number;
  user_id!: number;
  username!: string;
  operation_id!: string;
  file_path!: string;
  size_bytes!: number;
  sha256!: string;
  created_at!: Date;
}
