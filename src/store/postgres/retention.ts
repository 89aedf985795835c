import type { PruneStep } from "../contract/delivery.ts";
import { lightWrite } from "./batches-sql.ts";
import type { PgContext } from "./context.ts";
import { int8 } from "./values.ts";

// Pruning in small steps, each one statement (one short transaction): ingest and delivery on
// every node never wait on a long delete. The same bounds as the SQLite driver's:
// - events: a prefix in seq order, up to STEP of them, that every webhook is done with (at or
//   below every cursor and before every pending or dead live batch) and that arrived before
//   the cutoff. received_at grows with seq (the event insert keeps it so across nodes), so the
//   events that arrived before the cutoff are a seq prefix too: the step stops at the first
//   one that did not, among the STEP oldest the cursors allow.
// - attempts of delivered batches, old by their start or their batch's end; then delivered
//   batches done before the cutoff (their bodies go with the last of them: the trigger).
//   Dead batches are never pruned.
// The deletes run on one snapshot; a cursor moving meanwhile only moves forward, and a batch
// cut meanwhile has its own body.

const STEP = 2000;

const PRUNE = `WITH bound AS (
    SELECT COALESCE(LEAST(
      (SELECT min(cursor_seq) FROM webhooks),
      (SELECT min(first_seq) - 1 FROM batches WHERE state IN ('pending', 'dead') AND kind = 'live'),
      (SELECT max(seq) FROM events)), 0) AS seq
  ), head AS (
    SELECT seq, received_at FROM events WHERE seq <= (SELECT seq FROM bound) ORDER BY seq LIMIT ${STEP}
  ), old AS (
    SELECT seq FROM head WHERE seq < COALESCE((SELECT min(seq) FROM head WHERE received_at >= $1), 9223372036854775807)
  ), events_gone AS (
    DELETE FROM events WHERE seq IN (SELECT seq FROM old) RETURNING 1
  ), attempts_gone AS (
    DELETE FROM attempts WHERE id IN (
      SELECT a.id FROM attempts a JOIN batches b ON b.id = a.batch_id
      WHERE b.state = 'delivered' AND (a.started_at < $1 OR b.done_at < $1) LIMIT ${STEP}) RETURNING 1
  ), batches_gone AS (
    DELETE FROM batches WHERE id IN (SELECT id FROM batches WHERE state = 'delivered' AND done_at < $1 LIMIT ${STEP / 10}) RETURNING 1
  )
  SELECT (SELECT count(*) FROM events_gone) AS events, (SELECT count(*) FROM batches_gone) AS batches,
    (SELECT count(*) FROM attempts_gone) AS attempts`;

export function pruneStep(ctx: PgContext, cutoff: number): Promise<PruneStep> {
  return lightWrite(ctx, async (sql) => {
    const [r] = (await sql.unsafe(PRUNE, [cutoff])) as { events: unknown; batches: unknown; attempts: unknown }[];
    return {
      events: int8(r!.events, "pruned events"),
      batches: int8(r!.batches, "pruned batches"),
      attempts: int8(r!.attempts, "pruned attempts"),
    };
  });
}
