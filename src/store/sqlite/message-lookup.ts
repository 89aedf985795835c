import type { Database, Statement } from "bun:sqlite";
import type { IndexStep, MessageRef } from "../contract/feedback.ts";
import { lookupKey } from "../lookup-key.ts";
import { FEEDBACK_SOURCE } from "../sources.ts";

// The feedback intake's index: which stored events name a Message-ID or a queue id (the table
// and why it exists: migrations/0010-message-lookup.ts). Filled by indexMessageLookup() off
// the hot path, in short transactions; read by findMessagesBy*(), which also scan the events
// the index has not reached yet, in the same statement (one snapshot): a lagging index costs
// time, never an answer.

type Prepared = {
  state: Statement;
  read: Statement;
  add: Statement;
  advance: Statement;
  byMessageId: Statement;
  byQueueId: Statement;
};
const prepared = new WeakMap<Database, Prepared>();

const REF_COLUMNS = `e.seq, e.queue_id, e.message_id, e.rcpt_to, e.mail_from, e.host,
  json_extract(e.body, '$.campaign_id') AS campaign_id, json_extract(e.body, '$.tags') AS tags, json_extract(e.body, '$.metadata') AS metadata`;

function findSql(column: "message_id" | "queue_id"): string {
  // Indexed events, then those after indexed_seq (a seq range: the rowid). Without a state row
  // the scan covers every event: correct, and the reason the intake activates the index first.
  return `SELECT * FROM (
      SELECT ${REF_COLUMNS} FROM message_lookup l JOIN events e ON e.seq = l.seq
       WHERE l.h = ?1 AND e.${column} = ?2 AND e.source <> '${FEEDBACK_SOURCE}'
      UNION ALL
      SELECT ${REF_COLUMNS} FROM events e
       WHERE e.seq > COALESCE((SELECT indexed_seq FROM message_lookup_state WHERE id = 1), 0)
         AND e.${column} = ?2 AND e.source <> '${FEEDBACK_SOURCE}'
    ) ORDER BY seq DESC LIMIT ?3`;
}

function statements(db: Database): Prepared {
  let p = prepared.get(db);
  if (!p) {
    p = {
      state: db.prepare(
        "SELECT indexed_seq AS indexedSeq, (SELECT COALESCE(MAX(seq), 0) FROM events) AS maxSeq FROM message_lookup_state WHERE id = 1",
      ),
      read: db.prepare("SELECT seq, queue_id, message_id, rcpt_to, source FROM events WHERE seq > ? ORDER BY seq LIMIT ?"),
      add: db.prepare("INSERT INTO message_lookup (h, seq) VALUES (?, ?)"),
      advance: db.prepare("UPDATE message_lookup_state SET indexed_seq = ? WHERE id = 1"),
      byMessageId: db.prepare(findSql("message_id")),
      byQueueId: db.prepare(findSql("queue_id")),
    };
    prepared.set(db, p);
  }
  return p;
}

/** Starts the index (from the first stored event) unless it already runs. */
export function activateMessageLookup(db: Database, waitMs = 50): void {
  if (messageLookupState(db)) return; // no write (and no wait for the write lock) once it runs
  briefly(db, waitMs, () => db.run("INSERT INTO message_lookup_state (id, indexed_seq) VALUES (1, 0) ON CONFLICT(id) DO NOTHING"));
}

/** Where the index stands; null when it was never activated. */
export function messageLookupState(db: Database): { indexedSeq: number; maxSeq: number } | null {
  return (statements(db).state.get() as { indexedSeq: number; maxSeq: number } | null) ?? null;
}

type ReadRow = { seq: number; queue_id: string | null; message_id: string | null; rcpt_to: string | null; source: string };

/**
 * Indexes up to `maxEvents` events after the last indexed one, in one BEGIN IMMEDIATE
 * transaction (rows and position together: a crash repeats a step, never skips one). One row
 * per Message-ID and per queue id for each recipient in the step; the few duplicates across
 * steps cost space only (readers dedupe). Does nothing when the index was never activated.
 * Waits at most `waitMs` for the write lock (then throws SQLITE_BUSY): the index can wait, and
 * the connection may be the one the API and delivery share.
 */
export function indexMessageLookup(db: Database, maxEvents = 2000, waitMs = 50): IndexStep {
  const s = statements(db);
  // Nothing to do is known without the write lock.
  const before = s.state.get() as { indexedSeq: number; maxSeq: number } | null;
  if (!before || before.indexedSeq >= before.maxSeq) return { read: 0, added: 0, behind: 0 };
  return briefly(db, waitMs, () =>
    db
      .transaction((): IndexStep => {
        const state = s.state.get() as { indexedSeq: number; maxSeq: number } | null;
        if (!state) return { read: 0, added: 0, behind: 0 };
        const rows = s.read.all(state.indexedSeq, maxEvents) as ReadRow[];
        if (rows.length === 0) return { read: 0, added: 0, behind: 0 };
        const seen = new Set<string>();
        let added = 0;
        for (const r of rows) {
          if (r.source === FEEDBACK_SOURCE || (r.message_id === null && r.queue_id === null)) continue;
          const key = `${r.message_id ?? ""}\x1f${r.queue_id ?? ""}\x1f${r.rcpt_to ?? ""}`;
          if (seen.has(key)) continue;
          seen.add(key);
          if (r.message_id) {
            s.add.run(lookupKey("message_id", r.message_id), r.seq);
            added++;
          }
          if (r.queue_id) {
            s.add.run(lookupKey("queue_id", r.queue_id), r.seq);
            added++;
          }
        }
        const last = rows[rows.length - 1]!.seq;
        s.advance.run(last);
        return { read: rows.length, added, behind: Math.max(0, state.maxSeq - last) };
      })
      .immediate(),
  );
}

/**
 * Drops up to `maxRows` index rows whose events retention has removed. Events go as a seq
 * prefix and index rows were added in seq order, so only the oldest rowids are looked at:
 * bounded work whatever the table's size, and no write at all when the oldest row is live.
 */
export function pruneMessageLookup(db: Database, maxRows = 5000, waitMs = 50): number {
  const oldestEvent = (db.query("SELECT MIN(seq) AS s FROM events").get() as { s: number | null }).s ?? Number.MAX_SAFE_INTEGER;
  const oldestRow = (db.query("SELECT seq FROM message_lookup ORDER BY rowid LIMIT 1").get() as { seq: number } | null)?.seq;
  if (oldestRow === undefined || oldestRow >= oldestEvent) return 0;
  return briefly(
    db,
    waitMs,
    () =>
      db
        .query("DELETE FROM message_lookup WHERE rowid IN (SELECT rowid FROM message_lookup ORDER BY rowid LIMIT ?) AND seq < ?")
        .run(maxRows, oldestEvent).changes,
  );
}

/** `fn` with the connection's busy timeout set to `ms`, then set back (nothing else runs on it meanwhile: fn is synchronous). */
function briefly<T>(db: Database, ms: number, fn: () => T): T {
  const before = (db.query("PRAGMA busy_timeout").get() as { timeout: number }).timeout;
  if (before === ms) return fn();
  db.run(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(ms))}`);
  try {
    return fn();
  } finally {
    db.run(`PRAGMA busy_timeout = ${before}`);
  }
}

/** Stored events (none written by the feedback intake) with this Message-ID (no angle brackets), newest first. */
export function findMessagesByMessageId(db: Database, messageId: string, limit: number): MessageRef[] {
  return statements(db).byMessageId.all(lookupKey("message_id", messageId), messageId, limit) as MessageRef[];
}

/** Stored events (none written by the feedback intake) with this queue id, newest first. */
export function findMessagesByQueueId(db: Database, queueId: string, limit: number): MessageRef[] {
  return statements(db).byQueueId.all(lookupKey("queue_id", queueId), queueId, limit) as MessageRef[];
}
