/** Limits of the per-user JSON records (seed 004's user data). */
export const USER_DATA_LIMITS = {
  /** A key: letters, digits and _ . : - */
  keyPattern: /^[A-Za-z0-9_.:-]{1,128}$/,
  /** One value, serialised as JSON. */
  maxValueBytes: 64 * 1024,
  /** All of one user's values together. */
  maxUserBytes: 1024 * 1024,
  /** Records per user. */
  maxKeysPerUser: 1000,
  /** Operations in one bulk request. */
  maxBulkOperations: 100,
};

export const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

/** The ETag of a record version: strong, quoted. */
export const etagOf = (version: number) => `"v${version}"`;

/** The versions an If-Match header names ("*" → any existing record). */
export function parseIfMatch(header: string): number[] | '*' {
  if (header.trim() === '*') return '*';
  return header.split(',').map((s) => /^\s*(?:W\/)?"v(\d{1,9})"\s*$/.exec(s)).filter((m): m is RegExpExecArray => !!m).map((m) => Number(m[1]));
}
