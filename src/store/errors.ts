import { isPgBusy, isPgFull, isPgUnavailable } from "./postgres/errors.ts";
import { isSqliteBusy, isSqliteFull } from "./sqlite/errors.ts";

// What a store's failures mean to its callers, whichever driver raised them: callers never
// look at a database's own error classes or codes.

/** The write failed because the store's disk (or its size limit) is full; nothing was written, reads still work. */
export function isStoreFull(err: unknown): boolean {
  return isSqliteFull(err) || isPgFull(err);
}

/** A store whose schema this hookd cannot bring to its version (newer than it understands, or a migration failed). */
export class MigrationError extends Error {
  override name = "MigrationError";
}

/** The write waited for another writer past its limit; nothing was written, a later try may pass. */
export function isStoreBusy(err: unknown): boolean {
  return isSqliteBusy(err) || isPgBusy(err);
}

/** The store's server cannot be reached (PostgreSQL down, restarting, out of connections): nothing was done; retry later. */
export function isStoreUnavailable(err: unknown): boolean {
  return isPgUnavailable(err);
}
