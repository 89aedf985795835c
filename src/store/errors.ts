import { SQLiteError } from "bun:sqlite";

// What the store's own failures mean to its callers. SQLite answers a write on a full disk
// (or one past max_page_count) with SQLITE_FULL; nothing was written, and reads still work.
// Drizzle wraps the SQLite error (DrizzleQueryError, the original as its cause).

/** The SQLiteError behind `err`, if any (itself or along its causes). */
export function sqliteErrorOf(err: unknown): SQLiteError | null {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof SQLiteError) return e;
  }
  return null;
}

export function isSqliteError(err: unknown): boolean {
  return sqliteErrorOf(err) !== null;
}

/** The write failed because the store's disk (or its size limit) is full. */
export function isStoreFull(err: unknown): boolean {
  return sqliteErrorOf(err)?.code === "SQLITE_FULL";
}
