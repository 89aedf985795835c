import type { Database } from "bun:sqlite";
import { isEventType } from "../../events/schema.ts";
import type { AttemptRow, BatchStatusRow, QueueFigures } from "../contract/views.ts";

// What the API, the admin page and /metrics read about a webhook's batches: recent ones,
// attempts, queue figures. Reads only; the lifecycle's writes are in batches.ts.

export function recentBatches(db: Database, webhookId: string, limit: number, state?: string): BatchStatusRow[] {
  const cols =
    "id, kind, state, event_count, bytes, created_at, attempts, last_attempt_at, next_attempt_at, last_response_code, last_failure_code, done_at";
  if (state) {
    return db
      .query(`SELECT ${cols} FROM batches WHERE webhook_id = ? AND state = ? ORDER BY created_at DESC, id DESC LIMIT ?`)
      .all(webhookId, state, limit) as BatchStatusRow[];
  }
  return db
    .query(`SELECT ${cols} FROM batches WHERE webhook_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`)
    .all(webhookId, limit) as BatchStatusRow[];
}

export function attemptsOf(db: Database, batchId: string): AttemptRow[] {
  return db
    .query(
      "SELECT batch_id, attempt, started_at, latency_ms, response_code, failure_code, response_snippet FROM attempts WHERE batch_id = ? ORDER BY attempt",
    )
    .all(batchId) as AttemptRow[];
}

export type QueueStats = { pendingBatches: number; pendingBatchEvents: number; deadBatches: number; oldestPendingAt: number | null };

export function queueStats(db: Database, webhookId: string): QueueStats {
  const r = db
    .query(
      `SELECT
         COALESCE(SUM(state = 'pending'), 0) AS pb,
         COALESCE(SUM(CASE WHEN state = 'pending' THEN event_count END), 0) AS pe,
         COALESCE(SUM(state = 'dead'), 0) AS db,
         MIN(CASE WHEN state = 'pending' THEN created_at END) AS oldest
       FROM batches WHERE webhook_id = ? AND state IN ('pending', 'dead')`,
    )
    .get(webhookId) as { pb: number; pe: number; db: number; oldest: number | null };
  return { pendingBatches: r.pb, pendingBatchEvents: r.pe, deadBatches: r.db, oldestPendingAt: r.oldest };
}

/**
 * Events after a webhook's cursor that it subscribes to by type or custom event name (its
 * domain filter and format are not applied: an upper bound).
 */
export function backlog(db: Database, cursorSeq: number, types: readonly string[]): { events: number; oldestReceivedAt: number | null } {
  const all = types.includes("*");
  const hookdTypes = types.filter(isEventType);
  const names = types.filter((t) => t !== "*" && !isEventType(t));
  const marks = (n: number) => Array.from({ length: n }, () => "?").join(",");
  const sql = `SELECT count(*) AS n, MIN(received_at) AS oldest FROM events WHERE seq > ?${all ? "" : ` AND (type IN (${marks(hookdTypes.length)}) OR custom_type IN (${marks(names.length)}))`}`;
  const r = db.query(sql).get(cursorSeq, ...(all ? [] : [...hookdTypes, ...names])) as { n: number; oldest: number | null };
  return { events: r.n, oldestReceivedAt: r.oldest };
}

/** A webhook's queue: batches cut but not delivered, plus events not yet batched. */
export function webhookQueue(db: Database, w: { id: string; cursorSeq: number; events: readonly string[] }): QueueFigures {
  const q = queueStats(db, w.id);
  const b = backlog(db, w.cursorSeq, w.events);
  const oldest = [q.oldestPendingAt, b.oldestReceivedAt].filter((x): x is number => x !== null);
  return {
    depth: q.pendingBatchEvents + b.events,
    pendingBatches: q.pendingBatches,
    deadBatches: q.deadBatches,
    oldestPendingAt: oldest.length ? Math.min(...oldest) : null,
  };
}

export function getBatch(db: Database, webhookId: string, batchId: string): (BatchStatusRow & { first_attempt_at: number | null }) | null {
  return db
    .query(
      `SELECT id, kind, state, event_count, bytes, created_at, attempts, first_attempt_at, last_attempt_at, next_attempt_at,
              last_response_code, last_failure_code, done_at FROM batches WHERE webhook_id = ? AND id = ?`,
    )
    .get(webhookId, batchId) as (BatchStatusRow & { first_attempt_at: number | null }) | null;
}

/** Events delivered to a webhook per minute over the last `minutes` minutes, oldest first. */
export function deliveredPerMinute(db: Database, webhookId: string, now: number, minutes: number): number[] {
  const start = Math.floor(now / 60_000) * 60_000 - (minutes - 1) * 60_000;
  const rows = db
    .query(
      `SELECT (done_at - ?) / 60000 AS m, SUM(event_count) AS n FROM batches
       WHERE webhook_id = ? AND state = 'delivered' AND done_at >= ? GROUP BY m`,
    )
    .all(start, webhookId, start) as { m: number; n: number }[];
  const out = new Array<number>(minutes).fill(0);
  for (const r of rows) if (r.m >= 0 && r.m < minutes) out[r.m] = r.n;
  return out;
}
