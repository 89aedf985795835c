// What PostgreSQL's failures mean to the store's callers. Bun's SQL reports a server it cannot
// reach, or one that went away, as a PostgresError with code ERR_POSTGRES_CONNECTION_CLOSED
// (or _TIMEOUT); the server itself answers some states with an SQLSTATE: class 08
// (connection exception), 57P01–57P03 (shutting down, crash recovery, starting up), 53300
// (too many connections). All of them mean "nothing was done; the same call may work later".
// The pool reconnects by itself once the server is back.

// ERR_POSTGRES_EXPECTED_REQUEST ("Failed to read data"): a connection cut in the middle of a reply.
const CLIENT_CODES = new Set([
  "ERR_POSTGRES_CONNECTION_CLOSED",
  "ERR_POSTGRES_CONNECTION_TIMEOUT",
  "ERR_POSTGRES_IDLE_TIMEOUT",
  "ERR_POSTGRES_EXPECTED_REQUEST",
]);

function pgErrorOf(err: unknown): { code?: unknown; errno?: unknown; name?: unknown } | null {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const name = (e as { name?: unknown }).name;
    if (name === "PostgresError" || name === "SQLError") return e as { code?: unknown; errno?: unknown };
  }
  return null;
}

// Bun's pool, reconnecting while the server is down, rejects with a plain Error (no name, no
// code) whose message starts with this.
const FAILED_TO_OPEN = "FailedToOpenSocket";

export function isPgUnavailable(err: unknown): boolean {
  for (let x = err, depth = 0; x && depth < 5; x = (x as { cause?: unknown }).cause, depth++)
    if (x instanceof Error && x.message.startsWith(FAILED_TO_OPEN)) return true;
  const e = pgErrorOf(err);
  if (!e) return false;
  if (typeof e.code === "string" && CLIENT_CODES.has(e.code)) return true;
  const state = typeof e.errno === "string" ? e.errno : "";
  return state.startsWith("08") || state === "57P01" || state === "57P02" || state === "57P03" || state === "53300";
}

/** The disk of the server is full (SQLSTATE 53100). */
export function isPgFull(err: unknown): boolean {
  const e = pgErrorOf(err);
  return e?.errno === "53100";
}

/** A lock wait ended by lock_timeout (55P03) or a deadlock (40P01): nothing was written; a later try may pass. */
export function isPgBusy(err: unknown): boolean {
  const e = pgErrorOf(err);
  return e?.errno === "55P03" || e?.errno === "40P01" || e?.errno === "40001";
}
