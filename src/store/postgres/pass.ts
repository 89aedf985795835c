import type { SQL } from "bun";
import type { PassInput, PassOutcome } from "../contract/delivery.ts";
import { claimDue } from "./claims.ts";
import type { PgContext } from "./context.ts";
import { planCutWrites, type WebhookNow, writeCuts } from "./cuts.ts";
import { recordEnded } from "./pass-record.ts";
import { int8 } from "./values.ts";

// The engine's pass on PostgreSQL: one transaction of a few statements, however many webhooks
// it covers (a round trip costs ~60–90 µs), flushed at commit whatever the driver's durability
// (the contract promises it durable). Other nodes run passes over the same webhooks at the
// same time, so each step takes the row locks it needs, always in the same order:
//
// 1. The webhooks the pass writes (those of its ended attempts and its cuts' members) are
//    locked in id order, waiting for other passes, and their cursor and version read under the
//    lock: the compare-and-set of the cuts is decided on them (cuts.ts). Every pass takes these
//    waits first and in one order, so two passes never wait on each other in a cycle.
// 2. Then the ended attempts recorded (pass-record.ts), the cuts written (both on rows step 1
//    holds), and the claims' webhooks locked with SKIP LOCKED (claims.ts), which never waits:
//    after step 1, a pass waits for no other.
// 3. The claims (claims.ts), in a statement of their own: a fresh snapshot, after the records.
//
// Round trips: BEGIN, 1 (when something is recorded or cut), the records, the cuts, the
// claims' lock, 3 (when something can be claimed), COMMIT: 7 at most, whatever the number of
// webhooks. A pass that fails rolls back whole.

const LOCK_WRITTEN = `SELECT id, cursor_seq, updated_at FROM webhooks WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`;

export function passUnit(ctx: PgContext): (input: PassInput) => Promise<PassOutcome> {
  return (input) =>
    ctx.sql.begin(async (tx) => {
      const current = await lockWritten(tx, input);
      const writes = planCutWrites(input.cuts, current);
      // One after the other, not pipelined: Bun 1.3.14 can leave a transaction's pipelined
      // queries unsent (the server idle in transaction, the pass stalled ~14 s; seen with a
      // cut and a claim in one pass, test/deliver/engine-batching on PostgreSQL). Two round
      // trips more (~0.2 ms) buy a pass that never stalls.
      const recorded = await recordEnded(tx, input.ended);
      await writeCuts(tx, writes);
      const claims = await claimDue(tx, input, ctx.node);
      return { recorded, cut: writes.cut, claims: claims.claims, nextDueAt: claims.nextDueAt };
    });
}

/** Locks the webhooks the pass writes, in id order; their cursor and version now (absent: deleted). */
async function lockWritten(tx: SQL, input: PassInput): Promise<Map<string, WebhookNow>> {
  const ids = new Set<string>();
  for (const e of input.ended) ids.add(e.record.webhookId);
  for (const c of input.cuts) for (const m of c.members) ids.add(m.webhookId);
  if (ids.size === 0) return new Map();
  const rows = (await tx.unsafe(LOCK_WRITTEN, [tx.array([...ids].sort(), "TEXT")])) as {
    id: string;
    cursor_seq: unknown;
    updated_at: unknown;
  }[];
  return new Map(
    rows.map((r) => [r.id, { cursorSeq: int8(r.cursor_seq, "webhooks.cursor_seq"), version: int8(r.updated_at, "webhooks.updated_at") }]),
  );
}
