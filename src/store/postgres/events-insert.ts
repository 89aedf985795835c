import type { SQL } from "bun";
import { ROW_WIDTH, type EventRows } from "../event-rows.ts";
import type { PgContext } from "./context.ts";
import { ADVISORY_LOCK } from "./locks.ts";
import { int8, noNul } from "./values.ts";

// Every event insert of the PostgreSQL driver (POST /events, ingest, feedback, tracking):
// one statement for a whole chunk, inside the caller's transaction, after the event lock.
//
// - The lock (ADVISORY_LOCK.events, held to the end of the transaction) makes seq commit
//   order = seq order across every node: a seq taken earlier can no longer commit later, so a
//   reader that follows seq (the batcher, the live tail, retention's bound) never skips one.
// - received_at: the caller's `now`, but never below the newest stored event's (read under
//   the lock, so it is the last committed one). events.perMinute binary-searches seq for an
//   arrival time, which needs received_at to grow with seq, and nodes' clocks differ: one
//   running ahead would otherwise leave a later seq with an earlier arrival. One node (or
//   SQLite's one writer) with a steady clock gets exactly its `now`.
// - Rows go as JSON through json_to_recordset: one parameter whatever their number, NULLs
//   kept (Bun 1.3.14 sends a null element of sql.array as the string "null"). `$1::text::json`:
//   a string bound to a json parameter would arrive as one JSON string. The raw strings beside
//   the body pass through pgText() first: PostgreSQL's text has no U+0000, and the JSON's
//   "\u0000" would fail the whole chunk.
// - `ORDER BY i`: seqs are given in the rows' order, and of two rows with one id in a chunk the
//   first is stored (SQLite's order); ids already stored are skipped (ON CONFLICT DO NOTHING).

const INSERT = `INSERT INTO events (event_id, type, ts, host, queue_id, message_id, mail_from, rcpt_to, custom_type, notice, source, body, received_at)
  SELECT x.e, x.ty, x.ts, x.h, x.q, x.m, x.f, x.r, x.ct, x.n, $2, x.b,
         GREATEST($3::bigint, COALESCE((SELECT received_at FROM events ORDER BY seq DESC LIMIT 1), $3::bigint))
  FROM json_to_recordset($1::text::json)
    AS x(i integer, e text, ty text, ts bigint, h text, q text, m text, f text, r text, ct text, n text, b text)
  ORDER BY x.i
  ON CONFLICT (event_id) DO NOTHING
  RETURNING seq, event_id, type`;

/** The ingest commit's: the same insert, and the node's checkpoint for the source in the same statement. */
const INSERT_WITH_CHECKPOINT = `WITH stored AS (${INSERT}),
  cp AS (
    INSERT INTO source_checkpoints (node, source, dev, ino, fingerprint, "offset", correlation, updated_at)
    VALUES ($4, $2, $5, $6, $7, $8, $9, $3)
    ON CONFLICT (node, source) DO UPDATE SET dev = excluded.dev, ino = excluded.ino, fingerprint = excluded.fingerprint,
      "offset" = excluded."offset", correlation = excluded.correlation, updated_at = excluded.updated_at
  )
  SELECT seq, event_id, type FROM stored`;

const ANY_SURROGATE = /[\uD800-\uDFFF]/;
// String.prototype.toWellFormed's work (ES2024, past this project's lib): code units, no `u` flag.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * `s` as PostgreSQL can take it inside a JSON parameter or a text one: noNul(), and a lone
 * UTF-16 surrogate (zod lets "\ud800" through from the API; JSON.stringify writes it as that
 * escape, which PostgreSQL's JSON refuses, failing the whole chunk) becomes U+FFFD.
 */
export function pgText<T extends string | null | undefined>(s: T): T {
  if (typeof s !== "string") return s;
  const t = noNul(s);
  // Any surrogate first (~60 ns): the full test costs ~800 ns, and most strings have none.
  return (ANY_SURROGATE.test(t) ? t.replace(LONE_SURROGATE, "\uFFFD") : t) as T;
}

const KEYS = ["e", "ty", "ts", "h", "q", "m", "f", "r", "ct", "n"] as const;

/** A stored row of the chunk, in seq order (= the chunk's order). */
export type StoredRow = { seq: number; eventId: string; type: string };

/** The rows as json_to_recordset's parameter. */
export function rowsJson(rows: EventRows): string {
  const out: Record<string, unknown>[] = new Array(rows.bodies.length);
  for (let i = 0, c = 0; i < rows.bodies.length; i++, c += ROW_WIDTH) {
    // A body is JSON.stringify's text: well-formed, only a raw NUL to fear (a body built elsewhere).
    const o: Record<string, unknown> = { i, b: noNul(rows.bodies[i]) };
    for (let k = 0; k < ROW_WIDTH; k++) {
      const v = rows.cols[c + k];
      o[KEYS[k]!] = typeof v === "string" ? pgText(v) : v;
    }
    out[i] = o;
  }
  return JSON.stringify(out);
}

/**
 * Opens an event-writing transaction's work: `synchronous_commit = off` when the commit need
 * not be flushed (one round trip with the lock), then the event lock. Call it first thing.
 */
export async function takeEventLock(tx: SQL, flush: boolean): Promise<void> {
  const lock = `SELECT pg_advisory_xact_lock(${ADVISORY_LOCK.events}::bigint)`;
  await tx.unsafe(flush ? lock : `SET LOCAL synchronous_commit = off; ${lock}`);
}

/** Whether a write of `ctx` must be flushed at commit: always when the method promises it (`durable`). */
export function mustFlush(ctx: PgContext, durable: boolean): boolean {
  return durable || ctx.durability === "full";
}

function storedRows(result: readonly { seq: unknown; event_id: string; type: string }[]): StoredRow[] {
  const out = result.map((r) => ({ seq: int8(r.seq, "events.seq"), eventId: r.event_id, type: r.type }));
  // RETURNING's order is not promised; seqs were given in the chunk's order.
  return out.sort((a, b) => a.seq - b.seq);
}

/** Inserts `rows` in the caller's transaction, which holds the event lock (takeEventLock). */
export async function insertEventRows(tx: SQL, rows: EventRows, source: string, now: number): Promise<StoredRow[]> {
  if (rows.bodies.length === 0) return [];
  return storedRows(await tx.unsafe(INSERT, [rowsJson(rows), pgText(source), now]));
}

export type CheckpointWrite = { dev: number; ino: number; fingerprint: string; offset: number; correlation: string };

/** The same, with `node`'s checkpoint for `source` written by the same statement. */
export async function insertEventRowsAt(
  tx: SQL,
  rows: EventRows,
  source: string,
  now: number,
  node: string,
  cp: CheckpointWrite,
): Promise<StoredRow[]> {
  const params = [rowsJson(rows), pgText(source), now, node, cp.dev, cp.ino, pgText(cp.fingerprint), cp.offset, pgText(cp.correlation)];
  return storedRows(await tx.unsafe(INSERT_WITH_CHECKPOINT, params));
}

/** Custom event names (first seen now unless seen before), in the caller's transaction, after the event lock. */
export async function insertCustomTypes(tx: SQL, names: Iterable<string>, now: number): Promise<void> {
  const list = [...names].map((n) => pgText(n));
  if (list.length === 0) return;
  await tx.unsafe(
    `INSERT INTO custom_event_types (name, first_seen_at)
     SELECT value, $2 FROM json_array_elements_text($1::text::json) ON CONFLICT (name) DO NOTHING`,
    [JSON.stringify(list), now],
  );
}
