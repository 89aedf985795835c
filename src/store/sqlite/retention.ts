import type { Database } from "bun:sqlite";
import type { PruneStep } from "../contract/delivery.ts";
import { firstSeqReceivedFrom } from "./events.ts";

// Pruning in small steps: each step is one short transaction, so ingest and delivery never
// wait on a long delete. Only what is both old and delivered goes.

const STEP = 2000;

/** The highest seq every webhook is done with: no cursor and no undelivered live batch needs it. */
function deliveredUpTo(db: Database): number {
  const r = db
    .query(
      `SELECT MIN(v) AS s FROM (
         SELECT MIN(cursor_seq) AS v FROM webhooks
         UNION ALL SELECT MIN(first_seq) - 1 FROM batches WHERE state IN ('pending', 'dead') AND kind = 'live'
         UNION ALL SELECT MAX(seq) FROM events)`,
    )
    .get() as { s: number | null };
  return r.s ?? 0;
}

export function pruneStep(db: Database, cutoff: number): PruneStep {
  // Old enough AND delivered: both are seq prefixes (arrival time grows with seq).
  const bound = Math.min(deliveredUpTo(db), firstSeqReceivedFrom(db, cutoff) - 1);
  const events = db
    .query(`DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq <= ? ORDER BY seq LIMIT ${STEP})`)
    .run(bound).changes;
  // Attempts first, so the batch delete below cascades to nothing and each count is its own
  // table's (SQLite's changes() includes rows removed by ON DELETE CASCADE).
  const attempts = db
    .query(
      `DELETE FROM attempts WHERE id IN (SELECT a.id FROM attempts a JOIN batches b ON b.id = a.batch_id
        WHERE b.state = 'delivered' AND (a.started_at < ? OR b.done_at < ?) LIMIT ${STEP})`,
    )
    .run(cutoff, cutoff).changes;
  // Dead-lettered batches are never pruned: only an operator's retry or delete ends them.
  // Counted by RETURNING: changes() would include what the body-release trigger touches.
  const batches = db
    .query(
      `DELETE FROM batches WHERE id IN (SELECT id FROM batches WHERE state = 'delivered' AND done_at < ? LIMIT ${STEP / 10}) RETURNING id`,
    )
    .all(cutoff).length;
  return { events, batches, attempts };
}
