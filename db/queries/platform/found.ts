import { notFound } from '../../../shared/platform/errors';

/**
 * "Row or 404", written once: the row a store read found, or the API's RESOURCE_NOT_FOUND naming what was looked for.
 * A row another tenant owns is not found by the owner-scoped reads, so it answers the same 404 as a missing one.
 */
export async function found<T>(read: Promise<T | undefined | null> | T | undefined | null, what: string, id: string | number): Promise<T> {
  const row = await read;
  if (row === undefined || row === null) throw notFound(what, id);
  return row;
}
