import type { Database } from "bun:sqlite";
import type { Config } from "../config/schema.ts";
import type { WebhookRow } from "../store/schema.ts";
import { advanceCursor, insertBatchGroup } from "../store/batches.ts";
import { newId } from "../lib/ids.ts";
import { encodeBody } from "./formats/index.ts";
import { batchLimits, type BatchLimits, compileFilter, MACHINE_COLUMN, type Row } from "./subscription.ts";

// Cuts a webhook's next batches from the events after its cursor. Events are never copied
// into a per-webhook queue at ingest: the cursor is the queue, so 100 webhooks cost no
// extra writes per event, and a dead receiver's backlog is just rows it has not reached.

export type Batchable = Pick<WebhookRow, "id" | "events" | "filter" | "cursorSeq" | "format">;

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

type Light = Pick<Row, "seq" | "type" | "host" | "mail_from" | "rcpt_to" | "custom_type" | "notice" | "received_at"> & {
  bytes: number;
  machine?: unknown;
};

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
 * The reads (both passes, the bodies encoded) happen now, the writes when `write` is called:
 * the engine reads outside its write transaction and writes inside it, so the ingest thread's
 * commits do not wait while bodies are read and encoded. Only valid while nothing else moves
 * these webhooks' cursors in between (the engine's own thread).
 */
export function planBatches(
  db: Database,
  w: Batchable,
  limits: BatchLimits,
  now: number,
  opts: { allowPartial: boolean; maxBatches: number; force?: boolean },
  group: readonly Batchable[] = [w],
  memo?: ScanMemo,
): { result: CutResult; memo: ScanMemo; write: () => void } {
  const format = w.format;
  const matches = compileFilter(w.events, w.filter, format);
  const machineColumn = w.filter?.machine === false ? MACHINE_COLUMN : "";
  const light = db.query(
    `SELECT seq, type, host, mail_from, rcpt_to, custom_type, notice, received_at, octet_length(body) AS bytes${machineColumn} FROM events WHERE seq > ? ORDER BY seq LIMIT ?`,
  );
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
    const rows = light.all(m.scannedTo, PAGE) as Light[];
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

  // Pass 2: read the batches that end at those points; they are stored by write().
  let cursor = cursor0;
  const batches: { body: Uint8Array; eventCount: number; firstSeq: number; lastSeq: number; at: number }[] = [];
  if (cuts.length) {
    const full = db.query(
      "SELECT seq, type, host, mail_from, rcpt_to, custom_type, notice, body FROM events WHERE seq > ? AND seq <= ? ORDER BY seq",
    );
    for (const at of cuts) {
      const bodies: string[] = [];
      let first = 0;
      let last = 0;
      for (const r of full.all(cursor, at) as Row[]) {
        if (!matches(r)) continue;
        if (!bodies.length) first = r.seq;
        bodies.push(r.body);
        last = r.seq;
      }
      batches.push({ body: encodeBody(format, bodies), eventCount: bodies.length, firstSeq: first, lastSeq: last, at });
      cursor = at;
    }
  }
  // Rows before the first waiting event (all scanned rows, when none waits) are done with.
  const target = Math.max(cursor, open.count > 0 ? open.firstSeq - 1 : m.scannedTo);
  const write = () => {
    for (const b of batches) {
      insertBatchGroup(
        db,
        { kind: "live", eventCount: b.eventCount, firstSeq: b.firstSeq, lastSeq: b.lastSeq, body: b.body, now },
        group.map((g) => ({ id: newId("msg_", now), webhookId: g.id })),
        b.at,
      );
    }
    if (target > cursor) for (const g of group) advanceCursor(db, g.id, target);
  };
  const next: ScanMemo = { cursor: target, scannedTo: m.scannedTo, ...open };
  return { result: { cut: cuts.length, dueAt }, memo: next, write };
}

/** planBatches and its writes at once. */
export function cutBatches(...args: Parameters<typeof planBatches>): { result: CutResult; memo: ScanMemo } {
  const plan = planBatches(...args);
  plan.write();
  return plan;
}

/** One pass's cuts, read now and written by `writes` in the pass's transaction. */
export type CutPlan = {
  writes: (() => void)[];
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
  cutAll(t: number, hooks: readonly WebhookRow[], pending: ReadonlyMap<string, number>): CutPlan;
};

/** The engine's batcher: groups webhooks and keeps, per subscription, what earlier passes scanned. */
export function createBatcher(db: Database, settings: () => Config["delivery"]): Batcher {
  // Per subscription and cursor: how far the events after it were already scanned.
  const scanMemos = new Map<string, ScanMemo>();
  return {
    cutAll(t, hooks, pending) {
      const plan: CutPlan = { writes: [], cutFor: new Set(), nextDueAt: Infinity };
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
        const { result: r, memo, write } = planBatches(db, g.w, g.limits, t, g.opts, g.members, scanMemos.get(`${sub}@${g.w.cursorSeq}`));
        plan.writes.push(write);
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
