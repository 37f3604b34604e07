import { Model } from 'objection';
import type { OperationStatus, WorkflowStart } from '../../../shared/platform/operations';

export class Operation extends Model {
  static override tableName = 'operations';
  static override jsonAttributes = ['params', 'result', 'error', 'workflow_start'];
  id!: string;
  type!: string;
  status!: OperationStatus;
  resource_type!: string;
  resource_id!: string;
  resource_name!: string | null;
  resource_url!: string | null;
  host!: string | null;
  progress_percent!: number;
  progress_step!: string | null;
  progress_message!: string | null;
  created_by!: number | null;
  idempotency_key!: string | null;
  request_hash!: string | null;
  params!: Record<string, unknown>;
  result!: Record<string, unknown> | null;
  error!: { code: string; message: string; details?: Record<string, unknown> } | null;
  created_at!: Date;
  updated_at!: Date;
  finished_at!: Date | null;
  /** What starts the workflow (api/platform/operations/settle.ts), for a reconcile; null for rows a workflow registered. */
  workflow_start!: WorkflowStart | null;
}

export class OperationEvent extends Model {
  static override tableName = 'operation_events';
  static override jsonAttributes = ['data'];
  id!: number;
  operation_id!: string;
  event_key!: string;
  level!: string;
  step!: string | null;
  percent!: number | null;
  message!: string | null;
  data!: Record<string, unknown> | null;
  at!: Date;
}
