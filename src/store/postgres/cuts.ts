import type { SQL } from "bun";
import type { PlannedCut } from "../contract/delivery.ts";
import { BODY_ID, packBodies, rowsParam } from "./batches-sql.ts";

// The pass's planned cuts, written compare-and-set. The pass holds the row lock of every
// member webhook (pass.ts) and read its cursor and version under it, so which members still
// stand is decided here in plain code, exactly as the SQLite driver decides it, and everything
// decided is then written by one statement: bodies, batches, cursors.

/** A webhook's cursor and version as the pass read them under its row lock. */
export type WebhookNow = { cursorSeq: number; version: number };

type BodyRow = { k: number; body: Uint8Array; refs: number };
type BatchRow = { o: number; k: number; id: string; w: string; n: number; bytes: number; f: number; l: number; at: number };

export type CutWrites = {
  bodies: BodyRow[];
  /** In the order they were cut: a webhook's batches are delivered in this order (batches.ord). */
  batches: BatchRow[];
  /** Each webhook's cursor after the pass, where it moves. */
  cursors: { w: string; seq: number }[];
  /** Webhooks that got at least one batch. */
  cut: string[];
};

/**
 * What the cuts write, given the webhooks as they are now (absent: deleted). A member whose
 * cursor or version is no longer the one its plan read is left out; `current` is updated as
 * cuts are written, so a later cut of the same pass starts where the one before left the cursor.
 */
export function planCutWrites(cuts: readonly PlannedCut[], current: Map<string, WebhookNow>): CutWrites {
  const out: CutWrites = { bodies: [], batches: [], cursors: [], cut: [] };
  const cursors = new Map<string, number>();
  for (const c of cuts) {
    const keep: number[] = [];
    c.members.forEach((m, i) => {
      const w = current.get(m.webhookId);
      if (w !== undefined && w.cursorSeq === m.cursorSeq && w.version === m.version) keep.push(i);
    });
    if (keep.length === 0) continue;
    for (const b of c.batches) {
      const k = out.bodies.length;
      out.bodies.push({ k, body: b.body, refs: keep.length });
      for (const i of keep) {
        out.batches.push({
          o: out.batches.length,
          k,
          id: b.ids[i]!,
          w: c.members[i]!.webhookId,
          n: b.eventCount,
          bytes: b.body.byteLength,
          f: b.firstSeq,
          l: b.lastSeq,
          at: c.now,
        });
      }
    }
    const reached = c.batches.length ? c.batches[c.batches.length - 1]!.toSeq : c.members[keep[0]!]!.cursorSeq;
    const to = Math.max(reached, c.cursorTo);
    for (const i of keep) {
      const m = c.members[i]!;
      if (to > m.cursorSeq) cursors.set(m.webhookId, Math.max(to, cursors.get(m.webhookId) ?? 0));
      current.set(m.webhookId, { cursorSeq: to, version: m.version });
      if (c.batches.length) out.cut.push(m.webhookId);
    }
  }
  out.cursors = [...cursors].map(([w, seq]) => ({ w, seq }));
  return out;
}

/**
 * Bodies first (cut out of one bytea parameter: packBodies), each with an id taken from the
 * sequence up front so that its batches can name it in the same statement (RETURNING cannot
 * say which input row made which id); batches in cut order (their ord follows the insert's
 * order); cursors only ever forward. The foreign key from batches to bodies is checked at the
 * statement's end, when both are in.
 */
const WRITE_CUTS = `WITH x AS (
    SELECT k, off, len, refs, ${BODY_ID} AS id FROM json_to_recordset($1::text::json) AS x(k int, off int, len int, refs int)
  ), bodies AS (
    INSERT INTO batch_bodies (id, body, refs) OVERRIDING SYSTEM VALUE SELECT id, substring($4::bytea FROM off + 1 FOR len), refs FROM x
  ), stored AS (
    INSERT INTO batches (id, webhook_id, kind, state, event_count, bytes, first_seq, last_seq, body, body_id, created_at, next_attempt_at)
    SELECT y.id, y.w, 'live', 'pending', y.n, y.bytes, y.f, y.l, '\\x'::bytea, x.id, y.at, y.at
    FROM json_to_recordset($2::text::json) AS y(o int, k int, id text, w text, n int, bytes bigint, f bigint, l bigint, at bigint)
    JOIN x ON x.k = y.k ORDER BY y.o
  )
  UPDATE webhooks h SET cursor_seq = c.seq
  FROM json_to_recordset($3::text::json) AS c(w text, seq bigint)
  WHERE h.id = c.w AND h.cursor_seq < c.seq`;

/** Writes what planCutWrites decided: one statement, none when there is nothing to write. */
export async function writeCuts(tx: SQL, w: CutWrites): Promise<void> {
  if (w.batches.length === 0 && w.cursors.length === 0) return;
  const { blob, offsets } = packBodies(w.bodies.map((b) => b.body));
  const bodies = w.bodies.map((b, i) => ({ k: b.k, off: offsets[i], len: b.body.byteLength, refs: b.refs }));
  await tx.unsafe(WRITE_CUTS, [rowsParam(bodies), rowsParam(w.batches), rowsParam(w.cursors), blob]);
}
