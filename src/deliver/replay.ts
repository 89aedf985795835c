import type { Database } from "bun:sqlite";
import { newId } from "../lib/ids.ts";
import { insertBatch } from "../store/batches.ts";
import { eventsInRange } from "../store/replay.ts";
import type { WebhookRow } from "../store/schema.ts";
import { compileFilter, type BatchLimits } from "./batcher.ts";
import { encodeBatch } from "./formats/hookd.ts";

/**
 * Re-sends stored events of [since, until) that the webhook subscribes to (optionally only
 * some types) as new batches. The events keep their event_id, so receivers can dedupe; the
 * batches are new, with new webhook-ids, queued behind what is already pending.
 */
export function replayEvents(
  db: Database,
  w: Pick<WebhookRow, "id" | "events" | "filter">,
  range: { since: number; until: number; types?: readonly string[] },
  limits: Pick<BatchLimits, "maxEvents" | "maxBytes">,
  now: number,
): { batches: number; events: number } {
  const subscribed = compileFilter(w.events, w.filter);
  const typeSet = range.types?.length ? new Set(range.types) : null;
  let after = 0;
  let batches = 0;
  let events = 0;
  let bodies: string[] = [];
  let bytes = 2;
  let first = 0;
  let last = 0;
  const flush = () => {
    insertBatch(db, { id: newId("msg_", now), webhookId: w.id, kind: "replay", eventCount: bodies.length, firstSeq: first, lastSeq: last, body: encodeBatch(bodies), now }, null);
    batches++;
    events += bodies.length;
    bodies = [];
    bytes = 2;
  };
  for (;;) {
    const rows = eventsInRange(db, range.since, range.until, after, 5000);
    for (const r of rows) {
      after = r.seq;
      if (!subscribed(r) || (typeSet && !typeSet.has(r.type))) continue;
      const size = Buffer.byteLength(r.body) + 1;
      if (bodies.length > 0 && bytes + size > limits.maxBytes) flush();
      if (bodies.length === 0) first = r.seq;
      bodies.push(r.body);
      bytes += size;
      last = r.seq;
      if (bodies.length >= limits.maxEvents) flush();
    }
    if (rows.length < 5000) break;
  }
  if (bodies.length) flush();
  return { batches, events };
}
