import type { Database } from "bun:sqlite";
import type { AttemptRecord, ClaimedBatch, Outcome } from "../contract/delivery.ts";

// Batch lifecycle in SQL. Every state change is one transaction, and every change made on
// behalf of a claimed attempt checks the claim token, so a sender that lost its lease
// (stopped, or outlived by a restart) cannot overwrite a newer outcome.
//
//   pending ──claim──▶ pending+lease ──2xx──▶ delivered
//      ▲                   │ other
//      │                   ├──retry left──▶ pending (next_attempt_at later)
//      └──── POST retry ───┴──retry_for over─▶ dead

export type NewBatch = {
  id: string;
  webhookId: string;
  kind: "live" | "replay";
  eventCount: number;
  firstSeq: number;
  lastSeq: number;
  body: Uint8Array;
  now: number;
};

const EMPTY = new Uint8Array(0);

/**
 * Stores one body for several webhooks' batches (same subscription, same events) and, for
 * live batches, moves each webhook's cursor past it — atomically.
 */
export function insertBatchGroup(
  db: Database,
  b: Omit<NewBatch, "id" | "webhookId">,
  members: readonly { id: string; webhookId: string }[],
  cursorSeq: number | null,
): void {
  db.transaction(() => {
    const bodyId = (
      db.query("INSERT INTO batch_bodies (body, refs) VALUES (?, ?) RETURNING id").get(b.body, members.length) as { id: number }
    ).id;
    insertMembers(db, b, bodyId, members, cursorSeq);
  }).immediate();
}

/** Stores a batch and (for live batches) moves the webhook's cursor past it, atomically. */
export function insertBatch(db: Database, b: NewBatch, cursorSeq: number | null): void {
  insertBatchGroup(db, b, [{ id: b.id, webhookId: b.webhookId }], cursorSeq);
}

/**
 * A replay's batch. Replaying the same events for the same subscription and format makes the
 * same bytes: a body already stored with them is referenced again instead of stored again, so
 * repeated replays add rows of a few dozen bytes, not copies of the events.
 */
export function insertReplayBatch(db: Database, b: Omit<NewBatch, "kind">): void {
  const digest = new Bun.CryptoHasher("sha256").update(b.body).digest();
  db.transaction(() => {
    const found = db.query("SELECT id FROM batch_bodies WHERE digest = ? LIMIT 1").get(digest) as { id: number } | null;
    // refs ≥ 1 on every row found: the trigger deletes a body when its last batch goes.
    if (found) db.query("UPDATE batch_bodies SET refs = refs + 1 WHERE id = ?").run(found.id);
    const bodyId =
      found?.id ??
      (db.query("INSERT INTO batch_bodies (body, refs, digest) VALUES (?, 1, ?) RETURNING id").get(b.body, digest) as { id: number }).id;
    insertMembers(db, { ...b, kind: "replay" }, bodyId, [{ id: b.id, webhookId: b.webhookId }], null);
  }).immediate();
}

function insertMembers(
  db: Database,
  b: Omit<NewBatch, "id" | "webhookId">,
  bodyId: number,
  members: readonly { id: string; webhookId: string }[],
  cursorSeq: number | null,
): void {
  const insert = db.query(
    `INSERT INTO batches (id, webhook_id, kind, state, event_count, bytes, first_seq, last_seq, body, body_id, created_at, next_attempt_at)
     VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const cursor = db.query("UPDATE webhooks SET cursor_seq = ? WHERE id = ? AND cursor_seq < ?");
  for (const m of members) {
    insert.run(m.id, m.webhookId, b.kind, b.eventCount, b.body.byteLength, b.firstSeq, b.lastSeq, EMPTY, bodyId, b.now, b.now);
    if (cursorSeq !== null) cursor.run(cursorSeq, m.webhookId, cursorSeq);
  }
}

export function advanceCursor(db: Database, webhookId: string, cursorSeq: number): void {
  db.query("UPDATE webhooks SET cursor_seq = ? WHERE id = ? AND cursor_seq < ?").run(cursorSeq, webhookId, cursorSeq);
}

export type HeadBatch = {
  id: string;
  next_attempt_at: number;
  lease_until: number | null;
  attempts: number;
  first_attempt_at: number | null;
};

/** The oldest undelivered batches of a webhook, in delivery order. */
export function headBatches(db: Database, webhookId: string, limit: number): HeadBatch[] {
  return db
    .query(
      `SELECT id, next_attempt_at, lease_until, attempts, first_attempt_at FROM batches
       WHERE webhook_id = ? AND state = 'pending' ORDER BY created_at, id LIMIT ?`,
    )
    .all(webhookId, limit) as HeadBatch[];
}

/** Pending batches per webhook (absent: none), in one query for the engine's whole pass. */
export function pendingBatchCounts(db: Database): Map<string, number> {
  const rows = db.query("SELECT webhook_id AS id, count(*) AS n FROM batches WHERE state = 'pending' GROUP BY webhook_id").all() as {
    id: string;
    n: number;
  }[];
  return new Map(rows.map((r) => [r.id, r.n]));
}

/** Takes the lease on a due batch; null when it is not due, gone, or leased by someone else. */
export function claimBatch(db: Database, id: string, token: string, now: number, leaseMs: number): ClaimedBatch | null {
  return db
    .transaction(() => {
      const res = db
        .query(
          `UPDATE batches SET lease_token = ?, lease_until = ?, attempts = attempts + 1,
                first_attempt_at = COALESCE(first_attempt_at, ?), last_attempt_at = ?
         WHERE id = ? AND state = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)`,
        )
        .run(token, now + leaseMs, now, now, id, now, now);
      if (res.changes === 0) return null;
      return db
        .query("SELECT id, webhook_id, body_id, attempts, first_attempt_at, event_count FROM batches WHERE id = ?")
        .get(id) as ClaimedBatch;
    })
    .immediate();
}

/** A batch's body: its shared one, or (batches from before bodies were shared) its own. */
export function batchBody(db: Database, batchId: string, bodyId: number | null): Uint8Array {
  const row = (
    bodyId === null
      ? db.query("SELECT body FROM batches WHERE id = ?").get(batchId)
      : db.query("SELECT body FROM batch_bodies WHERE id = ?").get(bodyId)
  ) as { body: Uint8Array } | null;
  return row?.body ?? EMPTY;
}

/** After a restart nothing is in flight: leases left by a killed process are void. */
export function releaseAllLeases(db: Database): number {
  return db.query("UPDATE batches SET lease_token = NULL, lease_until = NULL WHERE state = 'pending' AND lease_token IS NOT NULL").run()
    .changes;
}

/** Records one attempt and its consequence; false when the lease was lost meanwhile. */
export function recordAttempt(db: Database, a: AttemptRecord, outcome: Outcome, now: number): boolean {
  return db
    .transaction(() => {
      const owned = db.query("SELECT 1 FROM batches WHERE id = ? AND lease_token = ?").get(a.batchId, a.token);
      if (!owned) return false;
      db.query(
        `INSERT INTO attempts (batch_id, webhook_id, attempt, started_at, latency_ms, response_code, failure_code, response_snippet)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(a.batchId, a.webhookId, a.attempt, a.startedAt, a.latencyMs, a.responseCode, a.failureCode, a.responseSnippet);
      const state = outcome.kind === "delivered" ? "delivered" : outcome.kind === "dead" ? "dead" : "pending";
      db.query(
        `UPDATE batches SET state = ?, lease_token = NULL, lease_until = NULL, last_response_code = ?, last_failure_code = ?,
              next_attempt_at = ?, done_at = ? WHERE id = ?`,
      ).run(
        state,
        a.responseCode,
        a.failureCode,
        outcome.kind === "retry" ? outcome.nextAttemptAt : now,
        outcome.kind === "retry" ? null : now,
        a.batchId,
      );
      if (outcome.kind === "delivered") {
        db.query("UPDATE webhooks SET last_success_at = ?, failing_since = NULL, consecutive_failures = 0 WHERE id = ?").run(
          now,
          a.webhookId,
        );
      } else {
        db.query(
          `UPDATE webhooks SET last_failure_at = ?, last_failure_code = ?, failing_since = COALESCE(failing_since, ?),
                consecutive_failures = consecutive_failures + 1 WHERE id = ?`,
        ).run(now, a.failureCode, now, a.webhookId);
      }
      return true;
    })
    .immediate();
}

/** Dead-lettered batches (all, or the given ones) go back to the queue with a fresh retry_for window. */
export function requeueDead(db: Database, webhookId: string, now: number, batchIds?: readonly string[]): number {
  const only = batchIds?.length ? ` AND id IN (${batchIds.map(() => "?").join(",")})` : "";
  return db
    .query(
      `UPDATE batches SET state = 'pending', next_attempt_at = ?, first_attempt_at = NULL, done_at = NULL
       WHERE webhook_id = ? AND state = 'dead'${only}`,
    )
    .run(now, webhookId, ...(batchIds ?? [])).changes;
}
