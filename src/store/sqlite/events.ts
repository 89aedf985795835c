import type { Database, Statement } from "bun:sqlite";
import type { Event } from "../../events/schema.ts";
import type { EventPage, EventQuery, InsertResult } from "../contract/events.ts";
import { eventRows, ROW_WIDTH, type EventRows } from "../event-rows.ts";

// The event hot path uses bun:sqlite prepared statements directly: one statement prepared
// per connection, one transaction per batch of events, no ORM object mapping per row.

type Prepared = { insert: Statement; customType: Statement };
const prepared = new WeakMap<Database, Prepared>();

function statements(db: Database): Prepared {
  let p = prepared.get(db);
  if (!p) {
    p = {
      insert: db.prepare(
        `INSERT INTO events (event_id, type, ts, host, queue_id, message_id, mail_from, rcpt_to, custom_type, notice, source, body, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(event_id) DO NOTHING`,
      ),
      customType: db.prepare("INSERT INTO custom_event_types (name, first_seen_at) VALUES (?, ?) ON CONFLICT DO NOTHING"),
    };
    prepared.set(db, p);
  }
  return p;
}

/**
 * Inserts inside the caller's transaction when there is one (the ingester adds its
 * checkpoint). `types` are those of the rows actually stored: lines read again after a
 * restart give events the store already has, and those are not counted twice.
 */
export function insertRowsTx(db: Database, rows: EventRows, source: string, now = Date.now()): InsertResult & { types: string[] } {
  const { insert } = statements(db);
  const { cols, bodies } = rows;
  const types: string[] = [];
  for (let i = 0, c = 0; i < bodies.length; i++, c += ROW_WIDTH) {
    const stored = insert.run(
      cols[c]!,
      cols[c + 1]!,
      cols[c + 2]!,
      cols[c + 3]!,
      cols[c + 4]!,
      cols[c + 5]!,
      cols[c + 6]!,
      cols[c + 7]!,
      cols[c + 8]!,
      cols[c + 9]!,
      source,
      bodies[i]!,
      now,
    ).changes;
    if (stored) types.push(cols[c + 1] as string);
  }
  return { inserted: types.length, duplicates: bodies.length - types.length, types };
}

/** Inserts inside the caller's transaction when there is one. */
export function insertEventsTx(db: Database, events: readonly Event[], source: string, now = Date.now()): InsertResult {
  const { inserted, duplicates } = insertRowsTx(db, eventRows(events), source, now);
  const { customType } = statements(db);
  for (const e of events) if (e.type === "custom") customType.run(e.custom_type, now);
  return { inserted, duplicates };
}

/**
 * Rows built beforehand (eventRows), all-or-nothing, with the custom event names they
 * carry: a caller that turns a large batch into rows as it validates never holds the events
 * as objects and rows at once.
 */
export function insertRows(db: Database, rows: EventRows, customTypes: Iterable<string>, source: string, now = Date.now()): InsertResult {
  return db
    .transaction(() => {
      const { inserted, duplicates } = insertRowsTx(db, rows, source, now);
      const { customType } = statements(db);
      for (const name of customTypes) customType.run(name, now);
      return { inserted, duplicates };
    })
    .immediate();
}

/** All-or-nothing: a batch is either stored whole or not at all. */
export function insertEvents(db: Database, events: readonly Event[], source: string, now = Date.now()): InsertResult {
  return db.transaction(() => insertEventsTx(db, events, source, now)).immediate();
}

/** Newest first. The cursor is the (ts, seq) of the last row returned, so pages never overlap. */
export function searchEvents(db: Database, q: EventQuery): EventPage {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (q.types?.length) {
    where.push(`type IN (${q.types.map(() => "?").join(",")})`);
    params.push(...q.types);
  }
  if (q.rcpt_to) where.push("rcpt_to = ?"), params.push(q.rcpt_to);
  if (q.message_id) where.push("message_id = ?"), params.push(q.message_id);
  if (q.queue_id) where.push("queue_id = ?"), params.push(q.queue_id);
  if (q.since !== undefined) where.push("ts >= ?"), params.push(q.since);
  if (q.until !== undefined) where.push("ts < ?"), params.push(q.until);
  if (q.cursor) where.push("(ts < ? OR (ts = ? AND seq < ?))"), params.push(q.cursor.ts, q.cursor.ts, q.cursor.seq);
  const sql = `SELECT seq, ts, body FROM events ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
               ORDER BY ts DESC, seq DESC LIMIT ?`;
  const rows = db.query(sql).all(...params, q.limit + 1) as { seq: number; ts: number; body: string }[];
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    events: page.map((r) => JSON.parse(r.body) as Event),
    next: rows.length > q.limit && last ? { ts: last.ts, seq: last.seq } : null,
  };
}

export function countEvents(db: Database): number {
  return (db.query("SELECT count(*) AS n FROM events").get() as { n: number }).n;
}

/** The newest event's seq: a new webhook starts after it, receiving only what comes next. */
export function maxEventSeq(db: Database): number {
  return (db.query("SELECT COALESCE(MAX(seq), 0) AS s FROM events").get() as { s: number }).s;
}

/** Events stored after `afterSeq`, oldest first: the live tail's feed. */
export function eventsAfter(db: Database, afterSeq: number, limit: number): { seq: number; body: string }[] {
  return db.query("SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?").all(afterSeq, limit) as {
    seq: number;
    body: string;
  }[];
}

/**
 * The first seq stored at or after `t` (arrival time), or MAX(seq)+1 when none is. received_at
 * grows with seq (one writer stamps each transaction in turn), so a binary search over the
 * rowid finds it in ~log2(n) point reads; events has no index on received_at (it cost every
 * insert more than these reads cost the few queries that need them).
 */
export function firstSeqReceivedFrom(db: Database, t: number): number {
  const bounds = db.query("SELECT COALESCE(MIN(seq), 1) AS lo, COALESCE(MAX(seq), 0) + 1 AS hi FROM events").get() as {
    lo: number;
    hi: number;
  };
  const at = db.query("SELECT seq, received_at FROM events WHERE seq >= ? ORDER BY seq LIMIT 1");
  let lo = bounds.lo;
  let hi = bounds.hi;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const r = at.get(mid) as { seq: number; received_at: number } | null;
    if (!r || r.received_at >= t) hi = mid;
    else lo = r.seq + 1;
  }
  const r = at.get(lo) as { seq: number } | null;
  return r ? r.seq : bounds.hi;
}

/** Events stored per minute over the last `minutes` minutes (by arrival), oldest first. */
export function eventsPerMinute(db: Database, now: number, minutes: number): number[] {
  const start = Math.floor(now / 60_000) * 60_000 - (minutes - 1) * 60_000;
  // Seq differences between minute boundaries: seq has no gaps but those retention leaves at
  // the old end, which lie before the window.
  const edges = Array.from({ length: minutes + 1 }, (_, i) => firstSeqReceivedFrom(db, start + i * 60_000));
  return edges.slice(1).map((e, i) => e - (edges[i] ?? e));
}

/** Custom event names seen in stored events, first seen first. */
export function seenCustomTypes(db: Database): string[] {
  return (db.query("SELECT name FROM custom_event_types ORDER BY first_seen_at, name").all() as { name: string }[]).map((r) => r.name);
}
