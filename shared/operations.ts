/** Pure operation vocabulary, shared by the API, workflows and activities. */
export const OPERATION_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'canceled'] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];
export const TERMINAL_STATUSES: readonly OperationStatus[] = ['succeeded', 'failed', 'canceled'];

export interface OperationError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export interface Progress {
  percent: number;
  step: string;
  message: string;
}

/** Every workflow that backs an operation receives this as the first field of its input. */
export interface OperationInput {
  operationId: string;
}

/** Custom search attributes registered on the Temporal namespace. */
export const SEARCH_ATTRIBUTES = {
  operationType: 'IdcflowOperationType',
  resourceType: 'IdcflowResourceType',
  resourceId: 'IdcflowResourceId',
  host: 'IdcflowHost',
  owner: 'IdcflowOwner',
} as const;
