import type { SQL } from "bun";
import type { FeedbackStore, IndexStep, MessageRef } from "../contract/feedback.ts";
import { lookupKey } from "../lookup-key.ts";
import { FEEDBACK_SOURCE } from "../sources.ts";
import { pgText } from "./events-insert.ts";
import { int8 } from "./values.ts";

// The feedback intake's index on PostgreSQL (what it is and why: sqlite/migrations/
// 0010-message-lookup.ts; SQLite's text: sqlite/message-lookup.ts). Same keys (lookupKey:
// xxHash64, signed, computed here as on every node), same steps, same reads.
//
// A fleet runs one indexer per node, each every second. A step locks the state row (rows
// and position together, so a crash repeats a step and two nodes never index the same
// events twice) with SKIP LOCKED: when another node holds it, that node is doing this very
// work, and the step gives way at once (read 0: catchUp stops, the next run tries again)
// rather than waiting `waitMs` and failing busy. Nothing else takes that lock — event
// inserts and reads never wait on the index, nor it on them — so `waitMs`, which bounds
// SQLite's wait for its one write lock, has nothing to bound here and is not used.

type StateRow = { indexed_seq: unknown; max_seq: unknown };
type ReadRow = { seq: unknown; queue_id: string | null; message_id: string | null; rcpt_to: string | null; source: string };
type RefRow = Pick<MessageRef, "queue_id" | "message_id" | "rcpt_to" | "mail_from" | "host"> & { seq: unknown; body: string };

const STATE = `SELECT indexed_seq, (SELECT COALESCE(MAX(seq), 0) FROM events) AS max_seq FROM message_lookup_state WHERE id = 1`;

/**
 * Indexed events, then those after indexed_seq (the index's lag, a seq range), in one
 * statement: one snapshot, so an event is never missed between the two. The body's parts are
 * taken in JS, not with PostgreSQL's JSON operators: they fail on a body holding "\u0000"
 * anywhere (it cannot become text), and a log's raw strings may.
 */
function findSql(column: "message_id" | "queue_id"): string {
  return `SELECT e.seq, e.queue_id, e.message_id, e.rcpt_to, e.mail_from, e.host, e.body
    FROM (
      SELECT l.seq FROM message_lookup l JOIN events e ON e.seq = l.seq
       WHERE l.h = $1::bigint AND e.${column} = $2 AND e.source <> '${FEEDBACK_SOURCE}'
      UNION ALL
      SELECT e.seq FROM events e
       WHERE e.seq > COALESCE((SELECT indexed_seq FROM message_lookup_state WHERE id = 1), 0)
         AND e.${column} = $2 AND e.source <> '${FEEDBACK_SOURCE}'
      ORDER BY seq DESC LIMIT $3
    ) f JOIN events e ON e.seq = f.seq
    ORDER BY e.seq DESC`;
}
const BY_MESSAGE_ID = findSql("message_id");
const BY_QUEUE_ID = findSql("queue_id");

/** A member of the body as SQLite's json_extract gives it: NULL for none or JSON null, a string as itself, anything else as JSON text. */
function extract(body: Record<string, unknown>, key: string): string | null {
  const v = body[key];
  if (v === undefined || v === null) return null;
  return typeof v === "string" ? v : JSON.stringify(v);
}

function refs(rows: readonly RefRow[]): MessageRef[] {
  return rows.map((r) => {
    const body = JSON.parse(r.body) as Record<string, unknown>;
    return {
      seq: int8(r.seq, "events.seq"),
      queue_id: r.queue_id,
      message_id: r.message_id,
      rcpt_to: r.rcpt_to,
      mail_from: r.mail_from,
      host: r.host,
      campaign_id: extract(body, "campaign_id"),
      tags: extract(body, "tags"),
      metadata: extract(body, "metadata"),
    };
  });
}

/** One row per Message-ID and per queue id for each (message, queue id, recipient) of the step, as SQLite adds them. */
function indexRows(rows: readonly ReadRow[]): { h: string; seq: number }[] {
  const seen = new Set<string>();
  const out: { h: string; seq: number }[] = [];
  for (const r of rows) {
    if (r.source === FEEDBACK_SOURCE || (r.message_id === null && r.queue_id === null)) continue;
    const key = `${r.message_id ?? ""}\x1f${r.queue_id ?? ""}\x1f${r.rcpt_to ?? ""}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const seq = int8(r.seq, "events.seq");
    // As strings: a 64-bit hash is past JSON's exact numbers; json_to_recordset reads "-123" as a bigint.
    if (r.message_id) out.push({ h: String(lookupKey("message_id", r.message_id)), seq });
    if (r.queue_id) out.push({ h: String(lookupKey("queue_id", r.queue_id)), seq });
  }
  return out;
}

const NOTHING: IndexStep = { read: 0, added: 0, behind: 0 };

export type MessageLookup = Omit<FeedbackStore, "commit">;

export function messageLookup(sql: SQL): MessageLookup {
  // The oldest event seq below which every index row is known gone (this process pruned them
  // all): pruneIndex reads no further until retention moves it (message_lookup has no index
  // on seq, so finding the next rows to prune scans the table).
  let prunedBelow: number | null = null;

  const state = async (): Promise<{ indexedSeq: number; maxSeq: number } | null> => {
    const [row] = (await sql.unsafe(STATE)) as StateRow[];
    return row ? { indexedSeq: int8(row.indexed_seq, "indexed_seq"), maxSeq: int8(row.max_seq, "max(events.seq)") } : null;
  };

  return {
    async activateIndex() {
      if (await state()) return; // no write once it runs
      await sql`INSERT INTO message_lookup_state (id, indexed_seq) VALUES (1, 0) ON CONFLICT (id) DO NOTHING`;
    },

    indexState: state,

    async indexStep(maxEvents = 2000) {
      // Nothing to do is known without the lock.
      const before = await state();
      if (!before || before.indexedSeq >= before.maxSeq) return NOTHING;
      return sql.begin(async (tx): Promise<IndexStep> => {
        // Rebuildable: no need to wait for the flush.
        await tx`SET LOCAL synchronous_commit = off`;
        const [locked] = (await tx.unsafe(`${STATE} FOR UPDATE SKIP LOCKED`)) as StateRow[];
        // Another node is stepping: this one gives way (read 0), still saying how far behind the index is.
        if (!locked) return { read: 0, added: 0, behind: before.maxSeq - before.indexedSeq };
        const indexed = int8(locked.indexed_seq, "indexed_seq");
        const maxSeq = int8(locked.max_seq, "max(events.seq)");
        const rows = (await tx`SELECT seq, queue_id, message_id, rcpt_to, source FROM events
                               WHERE seq > ${indexed}::bigint ORDER BY seq LIMIT ${maxEvents}`) as ReadRow[];
        if (rows.length === 0) return NOTHING;
        const add = indexRows(rows);
        const last = int8(rows[rows.length - 1]!.seq, "events.seq");
        await tx.unsafe(
          `WITH added AS (
             INSERT INTO message_lookup (h, seq) SELECT x.h, x.seq FROM json_to_recordset($1::text::json) AS x(h bigint, seq bigint)
           )
           UPDATE message_lookup_state SET indexed_seq = $2 WHERE id = 1`,
          [JSON.stringify(add), last],
        );
        return { read: rows.length, added: add.length, behind: Math.max(0, maxSeq - last) };
      });
    },

    async pruneIndex(maxRows = 5000) {
      const [row] = await sql`SELECT MIN(seq) AS s FROM events`;
      const min = (row as { s: unknown }).s;
      const oldest = min === null ? Number.MAX_SAFE_INTEGER : int8(min, "min(events.seq)");
      if (prunedBelow === oldest) return 0;
      const deleted = await sql.begin(async (tx) => {
        await tx`SET LOCAL synchronous_commit = off`;
        // One node at a time (the step's lock): two deleting the same rows would wait on each other.
        const [locked] = await tx`SELECT 1 FROM message_lookup_state WHERE id = 1 FOR UPDATE SKIP LOCKED`;
        if (!locked) return null;
        const gone = await tx`DELETE FROM message_lookup WHERE ctid = ANY (ARRAY(
                                SELECT ctid FROM message_lookup WHERE seq < ${oldest}::bigint LIMIT ${maxRows}))`;
        return gone.count;
      });
      if (deleted === null) return 0;
      if (deleted < maxRows) prunedBelow = oldest;
      return deleted;
    },

    async findByMessageId(messageId, limit) {
      const id = pgText(messageId);
      return refs((await sql.unsafe(BY_MESSAGE_ID, [String(lookupKey("message_id", id)), id, limit])) as RefRow[]);
    },

    async findByQueueId(queueId, limit) {
      const id = pgText(queueId);
      return refs((await sql.unsafe(BY_QUEUE_ID, [String(lookupKey("queue_id", id)), id, limit])) as RefRow[]);
    },
  };
}
