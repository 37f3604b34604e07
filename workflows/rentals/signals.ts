import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/** A change of a rental's expiry: a redeemed code (adds its days) or an exact new expiry (an admin's renewal). */
export interface RentalChange {
  /** Written once: a code's id, or the update's own id. */
  changeKey: string;
  userId: number | null;
  codeId?: number;
  expiresAt?: string;
}

export interface RentalChangeResult {
  expiresAt: string;
  historyId: number;
  days: number | null;
}

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
