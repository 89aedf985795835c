import { newId } from "../lib/ids.ts";
import type { ReplayBatch, ReplayCutter, Store, WebhookRow } from "../store/driver.ts";
import { compileFilter, type BatchLimits } from "./subscription.ts";
import { BatchBuilder } from "./batch-builder.ts";
import { encodeBody } from "./formats/index.ts";

/**
 * Re-sends stored events of [since, until) that the webhook subscribes to (optionally only
 * some types) as new batches. The events keep their event_id, so receivers can dedupe; the
 * batches are new, with new webhook-ids, queued behind what is already pending; their bodies
 * are shared with earlier replays that made the same bytes. One unit of work in the store
 * (ReplayStore.insert: one transaction, one fsync); the API caps how many events it covers.
 */
export function replayEvents(
  store: Store,
  w: Pick<WebhookRow, "id" | "events" | "filter" | "format">,
  range: { since: number; until: number; types?: readonly string[] | undefined },
  limits: Pick<BatchLimits, "maxEvents" | "maxBytes">,
  now: number,
): Promise<{ batches: number; events: number }> {
  return store.replay.insert(w.id, { since: range.since, until: range.until }, replayCutter(w, range.types, limits, now), now);
}

/** Pages of stored events → the webhook's replay batches: pure, as ReplayStore.insert requires. */
export function replayCutter(
  w: Pick<WebhookRow, "events" | "filter" | "format">,
  types: readonly string[] | undefined,
  limits: Pick<BatchLimits, "maxEvents" | "maxBytes">,
  now: number,
): ReplayCutter {
  const subscribed = compileFilter(w.events, w.filter, w.format);
  const typeSet = types?.length ? new Set(types) : null;
  const batch = new BatchBuilder(limits);
  const take = (out: ReplayBatch[]) => {
    const b = batch.take();
    out.push({
      id: newId("msg_", now),
      eventCount: b.bodies.length,
      firstSeq: b.firstSeq,
      lastSeq: b.lastSeq,
      body: encodeBody(w.format, b.bodies),
    });
  };
  return {
    page(rows) {
      const out: ReplayBatch[] = [];
      for (const r of rows) {
        if (!subscribed(r) || (typeSet && !typeSet.has(r.type))) continue;
        if (batch.overflows(r.body)) take(out);
        batch.add(r.seq, r.body);
        if (batch.full) take(out);
      }
      return out;
    },
    end() {
      const out: ReplayBatch[] = [];
      if (batch.size) take(out);
      return out;
    },
  };
}
