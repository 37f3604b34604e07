import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

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

/** What starts an operation's workflow, kept on its row so a reconcile can start it if the API stopped first. */
export interface WorkflowStart {
  workflowType: string;
  taskQueue: string;
  /** The workflow's arguments as Temporal's JSON converter would carry them. */
  args: unknown[];
  summary: string;
  attributes: Partial<Record<keyof typeof SEARCH_ATTRIBUTES, string>>;
}

/** Custom search attributes registered on the Temporal namespace. */
export const SEARCH_ATTRIBUTES = {
  operationType: 'IdcflowOperationType',
  resourceType: 'IdcflowResourceType',
  resourceId: 'IdcflowResourceId',
  host: 'IdcflowHost',
  owner: 'IdcflowOwner',
} as const;

/** The same attributes as typed keys, for starting workflows and schedules (usable in workflow code too). */
export const searchAttributeKeys = {
  operationType: defineSearchAttributeKey(SEARCH_ATTRIBUTES.operationType, SearchAttributeType.KEYWORD),
  resourceType: defineSearchAttributeKey(SEARCH_ATTRIBUTES.resourceType, SearchAttributeType.KEYWORD),
  resourceId: defineSearchAttributeKey(SEARCH_ATTRIBUTES.resourceId, SearchAttributeType.KEYWORD),
  host: defineSearchAttributeKey(SEARCH_ATTRIBUTES.host, SearchAttributeType.KEYWORD),
  owner: defineSearchAttributeKey(SEARCH_ATTRIBUTES.owner, SearchAttributeType.KEYWORD),
};
