// A change to a rental's term (a redeemed code, an admin's new expiry), as the API sends it to the rental's workflow and its activity records it.

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
