import type { SQL } from "bun";
import type { Event } from "../../events/schema.ts";
import type { EventPage, EventQuery, SavedCheckpoint, StoredEvent } from "../contract/events.ts";
import { pgText } from "./events-insert.ts";
import { int8 } from "./values.ts";

// The PostgreSQL driver's event reads: searches, the live tail's feed, arrival counts, custom
// names and a node's checkpoints. Each is one statement (one snapshot). Strings from a query
// pass through pgText() as the stored ones did, so a NUL in a filter finds what it named
// instead of failing the statement.

/** Newest first; the cursor is the (ts, seq) of the last row returned. */
export async function searchEvents(sql: SQL, q: EventQuery): Promise<EventPage> {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const bind = (v: string | number) => {
    params.push(typeof v === "string" ? pgText(v) : v);
    return `$${params.length}`;
  };
  if (q.types?.length) where.push(`type IN (${q.types.map(bind).join(", ")})`);
  if (q.rcpt_to) where.push(`rcpt_to = ${bind(q.rcpt_to)}`);
  if (q.message_id) where.push(`message_id = ${bind(q.message_id)}`);
  if (q.queue_id) where.push(`queue_id = ${bind(q.queue_id)}`);
  if (q.since !== undefined) where.push(`ts >= ${bind(q.since)}::bigint`);
  if (q.until !== undefined) where.push(`ts < ${bind(q.until)}::bigint`);
  if (q.cursor) where.push(`(ts, seq) < (${bind(q.cursor.ts)}::bigint, ${bind(q.cursor.seq)}::bigint)`);
  const limit = bind(q.limit + 1);
  const rows = (await sql.unsafe(
    `SELECT seq, ts, body FROM events ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY ts DESC, seq DESC LIMIT ${limit}`,
    params,
  )) as { seq: unknown; ts: unknown; body: string }[];
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    events: page.map((r) => JSON.parse(r.body) as Event),
    next: rows.length > q.limit && last ? { ts: int8(last.ts, "events.ts"), seq: int8(last.seq, "events.seq") } : null,
  };
}

export async function maxEventSeq(sql: SQL): Promise<number> {
  const [row] = await sql`SELECT COALESCE(MAX(seq), 0) AS s FROM events`;
  return int8((row as { s: unknown }).s, "max(events.seq)");
}

export async function eventsAfter(sql: SQL, seq: number, limit: number): Promise<StoredEvent[]> {
  const rows = (await sql`SELECT seq, body FROM events WHERE seq > ${seq}::bigint ORDER BY seq LIMIT ${limit}`) as {
    seq: unknown;
    body: string;
  }[];
  return rows.map((r) => ({ seq: int8(r.seq, "events.seq"), body: r.body }));
}

/**
 * For each minute boundary, the first seq that arrived at or after it (MAX(seq)+1 when none
 * did): SQLite's firstSeqReceivedFrom, every boundary's binary search over seq in one
 * recursive statement (events has no index on received_at, and a probe per round trip would
 * be ~1,500 of them). Right because received_at never decreases with seq (events-insert.ts).
 */
const ARRIVAL_EDGES = `WITH RECURSIVE
  b AS (SELECT COALESCE(MIN(seq), 1) AS lo, COALESCE(MAX(seq), 0) + 1 AS hi FROM events),
  s(i, t, lo, hi) AS (
    SELECT g, $1::bigint + g * 60000, b.lo, b.hi FROM generate_series(0, $2::integer) AS g, b
    UNION ALL
    SELECT s.i, s.t,
      CASE WHEN r.seq IS NULL OR r.received_at >= s.t THEN s.lo ELSE r.seq + 1 END,
      CASE WHEN r.seq IS NULL OR r.received_at >= s.t THEN (s.lo + s.hi) / 2 ELSE s.hi END
    FROM s LEFT JOIN LATERAL (
      SELECT e.seq, e.received_at FROM events e WHERE e.seq >= (s.lo + s.hi) / 2 ORDER BY e.seq LIMIT 1
    ) r ON true
    WHERE s.lo < s.hi
  )
  SELECT s.i, COALESCE((SELECT e.seq FROM events e WHERE e.seq >= s.lo ORDER BY e.seq LIMIT 1), (SELECT hi FROM b)) AS edge
  FROM s WHERE s.lo >= s.hi ORDER BY s.i`;

/** Events stored per minute (by arrival) over the last `minutes` minutes, oldest first. */
export async function eventsPerMinute(sql: SQL, now: number, minutes: number): Promise<number[]> {
  if (minutes <= 0) return [];
  const start = Math.floor(now / 60_000) * 60_000 - (minutes - 1) * 60_000;
  const rows = (await sql.unsafe(ARRIVAL_EDGES, [start, minutes])) as { edge: unknown }[];
  // Seq differences between boundaries: seq has no gaps but those retention leaves at the old
  // end (before the window) and those of rolled-back inserts (a few, rarely).
  const edges = rows.map((r) => int8(r.edge, "arrival edge"));
  return edges.slice(1).map((e, i) => e - edges[i]!);
}

/** Custom event names, first seen first (then by name, bytewise as SQLite orders). */
export async function seenCustomTypes(sql: SQL): Promise<string[]> {
  const rows = (await sql`SELECT name FROM custom_event_types ORDER BY first_seen_at, name COLLATE "C"`) as { name: string }[];
  return rows.map((r) => r.name);
}

/** `node`'s saved position for `source`; a damaged correlation state reads as null, the position still counts. */
export async function loadCheckpoint<S>(sql: SQL, node: string, source: string): Promise<SavedCheckpoint<S> | null> {
  const [row] = (await sql`SELECT dev, ino, fingerprint, "offset", correlation FROM source_checkpoints
                           WHERE node = ${node} AND source = ${pgText(source)}`) as {
    dev: number | null;
    ino: number | null;
    fingerprint: string | null;
    offset: unknown;
    correlation: string | null;
  }[];
  if (!row) return null;
  let correlation: S | null = null;
  try {
    correlation = row.correlation ? (JSON.parse(row.correlation) as S) : null;
  } catch {
    correlation = null;
  }
  return {
    checkpoint: {
      dev: row.dev ?? 0,
      ino: row.ino ?? 0,
      fingerprint: row.fingerprint ?? "",
      offset: int8(row.offset, "source_checkpoints.offset"),
    },
    correlation,
  };
}
