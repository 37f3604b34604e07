import { defineQuery } from '@temporalio/workflow';
import type { Progress } from '../../shared/platform/operations';

/** Every operation workflow answers this query with its current step. */
export const progressQuery = defineQuery<Progress>('progress');
