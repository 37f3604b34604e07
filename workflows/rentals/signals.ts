import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RentalChange, RentalChangeResult } from '../../shared/rentals/changes';

export type RentalPhase = 'provisioning' | 'active' | 'suspended' | 'deleting' | 'deleted' | 'failed';

export interface RentalState {
  phase: RentalPhase;
  expiresAt: string;
  instanceId: number | null;
  remindedFor: string | null;
  /** Which run of the workflow answers (it continues as new after many changes). */
  runs: number;
}

export const extendRentalUpdate = defineUpdate<RentalChangeResult, [RentalChange]>('rentals.extend');
export const deleteRentalUpdate = defineUpdate<{ deleting: true }, []>('rentals.delete');
export const remindRentalSignal = defineSignal('rentals.remind');
export const rentalStateQuery = defineQuery<RentalState>('rentals.state');
