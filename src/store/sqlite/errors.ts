import { SQLiteError } from "bun:sqlite";

// What SQLite's own failures mean to the store's callers. SQLite answers a write on a full
// disk (or one past max_page_count) with SQLITE_FULL; nothing was written, and reads still
// work. Drizzle wraps the SQLite error (DrizzleQueryError, the original as its cause).

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

export function isSqliteFull(err: unknown): boolean {
  return sqliteErrorOf(err)?.code === "SQLITE_FULL";
}

export function isSqliteBusy(err: unknown): boolean {
  const code = sqliteErrorOf(err)?.code ?? (err as { code?: unknown } | null)?.code;
  return code === "SQLITE_BUSY";
}
