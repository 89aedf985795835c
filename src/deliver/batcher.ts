import type { Config } from "../config/schema.ts";
import type { PlannedBatch, PlannedCut, Store, WebhookRow } from "../store/driver.ts";
import { newId } from "../lib/ids.ts";
import { encodeBody } from "./formats/index.ts";
import { batchLimits, type BatchLimits, compileFilter } from "./subscription.ts";

// Cuts a webhook's next batches from the events after its cursor. Events are never copied
// into a per-webhook queue at ingest: the cursor is the queue, so 100 webhooks cost no
// extra writes per event, and a dead receiver's backlog is just rows it has not reached.

export type Batchable = Pick<WebhookRow, "id" | "events" | "filter" | "cursorSeq" | "format" | "updatedAt">;

const PAGE = 2000;
// How many batches may wait cut-but-unsent behind the in-flight ones.
const LOOKAHEAD = 1;
// Bounds one call's work when a webhook's filter skips most events; the next tick goes on.
const MAX_PAGES = 25;

export type CutResult = {
  /** Batches written by this call. */
  cut: number;
  /** When the oldest waiting event makes a partial batch due; null when nothing waits. */
  dueAt: number | null;
};

/**
 * What a previous call learned about the events after a group's cursor that are not in a
 * batch yet, so the next call reads only rows added since (a partial batch waiting for
 * batch_max_wait would otherwise be re-read on every wake-up: quadratic in its size).
 */
export type ScanMemo = { cursor: number; scannedTo: number; count: number; bytes: number; firstSeq: number; oldestAt: number };

/**
 * Webhooks whose batches would come out the same: same subscription, limits and format, at
 * the same cursor, in the same situation. The events are read and encoded once for all of
 * them and the body is stored once.
 */
export function batchGroupKey(w: Batchable, limits: BatchLimits, opts: { allowPartial: boolean; maxBatches: number }): string {
  return JSON.stringify([w.cursorSeq, subscriptionKey(w, limits), opts.allowPartial, opts.maxBatches]);
}

/** What decides which events a webhook gets and how they are cut, whatever its cursor. */
export function subscriptionKey(w: Batchable, limits: BatchLimits): string {
  return JSON.stringify([w.format, [...w.events].sort(), w.filter, limits]);
}

/**
 * Cuts batches in two passes. The first reads only the columns that decide membership and
 * size (never the bodies) to find where batches end; the second reads the bodies of the
 * batches actually cut. `allowPartial` is false while the webhook has no free in-flight
 * slot: a partial batch cut then would only go stale behind the one in flight.
 * `maxBatches` bounds how far ahead of the receiver batches are cut (the rest wait as rows).
 * `group` are webhooks with the same batchGroupKey as `w`; they get the same batches.
 *
 * The reads (both passes, the bodies encoded) happen now; the writes are returned as data
 * (`cut`, null when there is nothing to write), which the engine's pass writes in its
 * transaction, so the ingest thread's commits do not wait while bodies are read and encoded.
 * The pass writes them only for members still at the cursor and version read here.
 */
export async function planBatches(
  store: Store,
  w: Batchable,
  limits: BatchLimits,
  now: number,
  opts: { allowPartial: boolean; maxBatches: number; force?: boolean },
  group: readonly Batchable[] = [w],
  memo?: ScanMemo,
): Promise<{ result: CutResult; memo: ScanMemo; cut: PlannedCut | null }> {
  const format = w.format;
  const matches = compileFilter(w.events, w.filter, format);
  const scanOpts = { machine: w.filter?.machine === false };
  const cursor0 = w.cursorSeq;
  const fresh: ScanMemo = { cursor: cursor0, scannedTo: cursor0, count: 0, bytes: 2, firstSeq: 0, oldestAt: 0 };
  const m: ScanMemo = memo && memo.cursor === cursor0 ? { ...memo } : fresh;
  // Pass 1: where do batches end? Each cut point is the seq the cursor moves to.
  const cuts: number[] = [];
  let open = { count: m.count, bytes: m.bytes, firstSeq: m.firstSeq, oldestAt: m.oldestAt };
  const close = (at: number) => {
    cuts.push(at);
    open = { count: 0, bytes: 2, firstSeq: 0, oldestAt: 0 };
  };
  scan: for (let page = 0; page < MAX_PAGES; page++) {
    const rows = await store.delivery.scan(m.scannedTo, PAGE, scanOpts);
    for (const r of rows) {
      if (matches(r)) {
        const size = r.bytes + 1;
        if (open.count > 0 && open.bytes + size > limits.maxBytes) {
          close(m.scannedTo);
          if (cuts.length >= opts.maxBatches) break scan;
        }
        if (open.count === 0) {
          open.firstSeq = r.seq;
          open.oldestAt = r.received_at;
        }
        open.count++;
        open.bytes += size;
      }
      m.scannedTo = r.seq;
      if (open.count >= limits.maxEvents) {
        close(r.seq);
        if (cuts.length >= opts.maxBatches) break scan;
      }
    }
    if (rows.length < PAGE) break;
  }
  let dueAt: number | null = null;
  if (cuts.length < opts.maxBatches && open.count > 0) {
    const due = open.oldestAt + limits.maxWaitMs;
    if (opts.allowPartial && (opts.force || due <= now)) close(m.scannedTo);
    else dueAt = due;
  }

  // Pass 2: read the batches that end at those points; the pass stores them.
  let cursor = cursor0;
  const batches: PlannedBatch[] = [];
  for (const at of cuts) {
    const bodies: string[] = [];
    let first = 0;
    let last = 0;
    for (const r of await store.delivery.cutRows(cursor, at)) {
      if (!matches(r)) continue;
      if (!bodies.length) first = r.seq;
      bodies.push(r.body);
      last = r.seq;
    }
    const ids = group.map(() => newId("msg_", now));
    batches.push({ ids, body: encodeBody(format, bodies), eventCount: bodies.length, firstSeq: first, lastSeq: last, toSeq: at });
    cursor = at;
  }
  // Rows before the first waiting event (all scanned rows, when none waits) are done with.
  const target = Math.max(cursor, open.count > 0 ? open.firstSeq - 1 : m.scannedTo);
  const cut: PlannedCut | null =
    batches.length || target > cursor
      ? {
          members: group.map((g) => ({ webhookId: g.id, cursorSeq: cursor0, version: g.updatedAt })),
          batches,
          cursorTo: target,
          now,
        }
      : null;
  const next: ScanMemo = { cursor: target, scannedTo: m.scannedTo, ...open };
  return { result: { cut: cuts.length, dueAt }, memo: next, cut };
}

/** planBatches and its writes at once: a pass that only cuts (tests, one webhook at a time). */
export async function cutBatches(...args: Parameters<typeof planBatches>): Promise<{ result: CutResult; memo: ScanMemo }> {
  const plan = await planBatches(...args);
  if (plan.cut) await args[0].delivery.pass({ now: args[3], ended: [], cuts: [plan.cut], claims: [], maxClaims: 0, leaseMs: 0 });
  return plan;
}

/** One pass's cuts, read now and written by the pass (DeliveryStore.pass). */
export type CutPlan = {
  cuts: PlannedCut[];
  /** Webhooks that got a batch this pass. */
  cutFor: Set<string>;
  /** When a partial batch of a webhook with a free slot falls due (Infinity: none). */
  nextDueAt: number;
};

export type Batcher = {
  /**
   * Plans the batches of every group of webhooks that has a free slot. One read and one
   * encoded body serve a whole group (webhooks with the same batchGroupKey).
   */
  cutAll(t: number, hooks: readonly WebhookRow[], pending: ReadonlyMap<string, number>): Promise<CutPlan>;
};

/** The engine's batcher: groups webhooks and keeps, per subscription, what earlier passes scanned. */
export function createBatcher(store: Store, settings: () => Config["delivery"]): Batcher {
  // Per subscription and cursor: how far the events after it were already scanned.
  const scanMemos = new Map<string, ScanMemo>();
  return {
    async cutAll(t, hooks, pending) {
      const plan: CutPlan = { cuts: [], cutFor: new Set(), nextDueAt: Infinity };
      const delivery = settings();
      const maxInFlight = delivery.max_in_flight;
      const groups = new Map<
        string,
        { w: WebhookRow; limits: BatchLimits; opts: { allowPartial: boolean; maxBatches: number }; members: WebhookRow[] }
      >();
      for (const w of hooks) {
        const waiting = pending.get(w.id) ?? 0;
        const free = maxInFlight + LOOKAHEAD - waiting;
        if (free <= 0) continue;
        const limits = batchLimits(w, delivery);
        const opts = { allowPartial: waiting < maxInFlight, maxBatches: free };
        const key = batchGroupKey(w, limits, opts);
        const g = groups.get(key);
        if (g) g.members.push(w);
        else groups.set(key, { w, limits, opts, members: [w] });
      }
      const memos = new Map<string, ScanMemo>();
      for (const g of groups.values()) {
        // Found again next pass under the cursor the group will then be at.
        const sub = subscriptionKey(g.w, g.limits);
        const {
          result: r,
          memo,
          cut,
        } = await planBatches(store, g.w, g.limits, t, g.opts, g.members, scanMemos.get(`${sub}@${g.w.cursorSeq}`));
        if (cut) plan.cuts.push(cut);
        if (r.cut > 0) for (const m of g.members) plan.cutFor.add(m.id);
        memos.set(`${sub}@${memo.cursor}`, memo);
        // Without a free slot the due time may be long past; the attempt that frees a slot
        // calls notify(), so waking for it now would only spin.
        if (r.dueAt !== null && g.opts.allowPartial) plan.nextDueAt = Math.min(plan.nextDueAt, r.dueAt);
      }
      // Keep what this pass learned; groups not cut this pass (no free slot) keep theirs.
      for (const [k, v] of memos) scanMemos.set(k, v);
      if (scanMemos.size > 4 * (groups.size + 16)) scanMemos.clear();
      return plan;
    },
  };
}
