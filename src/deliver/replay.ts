import type { Database } from "bun:sqlite";
import { newId } from "../lib/ids.ts";
import { insertReplayBatch } from "../store/batches.ts";
import { eventsInRange } from "../store/replay.ts";
import type { WebhookRow } from "../store/schema.ts";
import { compileFilter, type BatchLimits } from "./subscription.ts";
import { BatchBuilder } from "./batch-builder.ts";
import { encodeBody } from "./formats/index.ts";

const PAGE = 5000;

/**
 * Re-sends stored events of [since, until) that the webhook subscribes to (optionally only
 * some types) as new batches. The events keep their event_id, so receivers can dedupe; the
 * batches are new, with new webhook-ids, queued behind what is already pending; their bodies
 * are shared with earlier replays that made the same bytes.
 */
export function replayEvents(
  db: Database,
  w: Pick<WebhookRow, "id" | "events" | "filter" | "format">,
  range: { since: number; until: number; types?: readonly string[] },
  limits: Pick<BatchLimits, "maxEvents" | "maxBytes">,
  now: number,
): { batches: number; events: number } {
  // One transaction (one fsync) for the whole replay; the API caps how many events it covers.
  return db
    .transaction(() => {
      const format = w.format;
      const encode = (bodies: string[]) => encodeBody(format, bodies);
      const subscribed = compileFilter(w.events, w.filter, format);
      const typeSet = range.types?.length ? new Set(range.types) : null;
      let after = 0;
      let batches = 0;
      let events = 0;
      const batch = new BatchBuilder(limits);
      const flush = () => {
        const b = batch.take();
        insertReplayBatch(db, {
          id: newId("msg_", now),
          webhookId: w.id,
          eventCount: b.bodies.length,
          firstSeq: b.firstSeq,
          lastSeq: b.lastSeq,
          body: encode(b.bodies),
          now,
        });
        batches++;
        events += b.bodies.length;
      };
      for (;;) {
        const rows = eventsInRange(db, range.since, range.until, after, PAGE);
        for (const r of rows) {
          after = r.seq;
          if (!subscribed(r) || (typeSet && !typeSet.has(r.type))) continue;
          if (batch.overflows(r.body)) flush();
          batch.add(r.seq, r.body);
          if (batch.full) flush();
        }
        if (rows.length < PAGE) break;
      }
      if (batch.size) flush();
      return { batches, events };
    })
    .immediate();
}
