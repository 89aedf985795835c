import type { DeliveryStore, RetentionStore } from "../driver.ts";
import { batchBody, requeueDead } from "./batches.ts";
import type { PgContext } from "./context.ts";
import { cutRows, scan } from "./cuts-read.ts";
import { releaseLeases } from "./leases.ts";
import { passUnit } from "./pass.ts";
import { passState } from "./pass-state.ts";
import { pruneStep } from "./retention.ts";

// Delivery on PostgreSQL: the engine's pass (pass.ts: records, compare-and-set cuts, claims
// across the fleet's nodes), the batcher's reads, bodies, leases, dead letters, replays and
// retention, each method one transaction or one statement.

export { replayStore } from "./replay.ts";

export function deliveryStore(ctx: PgContext): DeliveryStore {
  const pass = passUnit(ctx);
  return {
    passState: () => passState(ctx),
    scan: (afterSeq, limit, opts) => scan(ctx, afterSeq, limit, opts.machine),
    cutRows: (afterSeq, upToSeq) => cutRows(ctx, afterSeq, upToSeq),
    pass,
    body: (b) => batchBody(ctx, b),
    releaseLeases: () => releaseLeases(ctx),
    requeueDead: (webhookId, now, batchIds) => requeueDead(ctx, webhookId, now, batchIds),
  };
}

export function retentionStore(ctx: PgContext): RetentionStore {
  return { pruneStep: (cutoff) => pruneStep(ctx, cutoff) };
}
