import type { Database } from "bun:sqlite";
import { newId } from "../../lib/ids.ts";
import type { PassInput, PassOutcome, PlannedCut } from "../contract/delivery.ts";
import { advanceCursor, claimBatch, headBatches, insertBatchGroup, recordAttempt } from "./batches.ts";

// The engine's pass as one BEGIN IMMEDIATE transaction: record the attempts that ended, write
// the cuts the batcher planned, claim what is due. One fsync per pass, not one per batch. The
// engine planned from reads made before, and other callers' units may have run in between
// (an API change, a delete): every write here is compare-and-set against what the plan read
// (a webhook's cursor and its updated_at), and what no longer holds is left for the next pass.

type Current = Map<string, { cursor_seq: number; updated_at: number }>;

export function passUnit(db: Database): (input: PassInput) => PassOutcome {
  const versions = db.prepare("SELECT id, cursor_seq, updated_at FROM webhooks");
  const tx = db.transaction((input: PassInput): PassOutcome => {
    const recorded = input.ended.map((f) => recordAttempt(db, f.record, f.outcome, f.at));
    // Read once, inside the transaction, only when there is something to check against.
    let current: Current | null = null;
    const now = (): Current => {
      current ??= new Map((versions.all() as { id: string; cursor_seq: number; updated_at: number }[]).map((r) => [r.id, r]));
      return current;
    };
    const cut: string[] = [];
    for (const c of input.cuts) writeCut(db, c, now(), cut);
    const claims: PassOutcome["claims"] = [];
    let nextDueAt: number | null = null;
    const t = input.now;
    for (const r of input.claims) {
      if (claims.length >= input.maxClaims) break;
      if (r.slots <= 0 || now().get(r.webhookId)?.updated_at !== r.version) continue;
      let free = r.slots;
      for (const h of headBatches(db, r.webhookId, r.heads)) {
        if (free <= 0 || claims.length >= input.maxClaims) break;
        if (h.lease_until !== null && h.lease_until >= t) continue;
        if (h.next_attempt_at > t) {
          nextDueAt = nextDueAt === null ? h.next_attempt_at : Math.min(nextDueAt, h.next_attempt_at);
          continue;
        }
        const token = newId("", t);
        const batch = claimBatch(db, h.id, token, t, input.leaseMs);
        if (!batch) continue;
        free--;
        claims.push({ batch, token });
      }
    }
    return { recorded, cut, claims, nextDueAt };
  });
  return (input) => tx.immediate(input);
}

/** A planned cut, for the members still where the plan found them. */
function writeCut(db: Database, c: PlannedCut, current: Current, cut: string[]): void {
  const keep: number[] = [];
  c.members.forEach((m, i) => {
    const w = current.get(m.webhookId);
    if (w && w.cursor_seq === m.cursorSeq && w.updated_at === m.version) keep.push(i);
  });
  if (keep.length === 0) return;
  for (const b of c.batches) {
    insertBatchGroup(
      db,
      { kind: "live", eventCount: b.eventCount, firstSeq: b.firstSeq, lastSeq: b.lastSeq, body: b.body, now: c.now },
      keep.map((i) => ({ id: b.ids[i]!, webhookId: c.members[i]!.webhookId })),
      b.toSeq,
    );
  }
  const reached = c.batches.length ? c.batches[c.batches.length - 1]!.toSeq : c.members[keep[0]!]!.cursorSeq;
  for (const i of keep) {
    const m = c.members[i]!;
    if (c.cursorTo > reached) advanceCursor(db, m.webhookId, c.cursorTo);
    // The map stays true for later cuts in this pass (a webhook is in one group per pass).
    current.set(m.webhookId, { cursor_seq: Math.max(reached, c.cursorTo), updated_at: m.version });
    if (c.batches.length) cut.push(m.webhookId);
  }
}
