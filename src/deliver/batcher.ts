import type { Database } from "bun:sqlite";
import type { WebhookFilter, WebhookRow } from "../store/schema.ts";
import { advanceCursor, insertBatchGroup } from "../store/batches.ts";
import { newId } from "../lib/ids.ts";
import { BatchBuilder } from "./batch-builder.ts";
import { encodeBody, formatCarries, type WebhookFormat } from "./formats/index.ts";
import type { EventType } from "../events/schema.ts";

// Cuts a webhook's next batches from the events after its cursor. Events are never copied
// into a per-webhook queue at ingest: the cursor is the queue, so 100 webhooks cost no
// extra writes per event, and a dead receiver's backlog is just rows it has not reached.

export type BatchLimits = { maxEvents: number; maxBytes: number; maxWaitMs: number };

// Batches are sized by hookd's own JSON; SparkPost's wrapped form is about 1.26× larger, so
// its budget shrinks to keep the body sent under batch_max_bytes.
const FORMAT_GROWTH: Record<WebhookFormat, number> = { hookd: 1, sendgrid: 1, sparkpost: 1.3 };

/** A webhook's own batch_* overrides over the configured defaults. */
export function batchLimits(
  w: Pick<WebhookRow, "batchMaxEvents" | "batchMaxBytes" | "batchMaxWait" | "format">,
  d: { batch_max_events: number; batch_max_bytes: number; batch_max_wait: number },
): BatchLimits {
  return {
    maxEvents: w.batchMaxEvents ?? d.batch_max_events,
    maxBytes: Math.floor((w.batchMaxBytes ?? d.batch_max_bytes) / (FORMAT_GROWTH[w.format as WebhookFormat] ?? 1)),
    maxWaitMs: w.batchMaxWait ?? d.batch_max_wait,
  };
}
export type Batchable = Pick<WebhookRow, "id" | "events" | "filter" | "cursorSeq" | "format">;

type Row = { seq: number; type: string; host: string; mail_from: string | null; rcpt_to: string | null; received_at: number; body: string };

const PAGE = 2000;
// Bounds one call's work when a webhook's filter skips most events; the next tick goes on.
const MAX_PAGES = 25;

function domainOf(address: string | null): string | null {
  if (!address) return null;
  const at = address.lastIndexOf("@");
  return at < 0 ? null : address.slice(at + 1).toLowerCase();
}

export function compileFilter(
  types: readonly string[],
  filter: WebhookFilter | null,
  format: WebhookFormat = "hookd",
): (r: Pick<Row, "type" | "host" | "mail_from" | "rcpt_to">) => boolean {
  const all = types.includes("*");
  // A provider format without a counterpart for a type (SendGrid has no custom events) would
  // only send empty arrays for it.
  const carried = (type: string) => formatCarries(format, type as EventType);
  const typeSet = new Set(types);
  const senders = filter?.sender_domains?.length ? new Set(filter.sender_domains.map((d) => d.toLowerCase())) : null;
  const rcpts = filter?.rcpt_domains?.length ? new Set(filter.rcpt_domains.map((d) => d.toLowerCase())) : null;
  const hosts = filter?.hosts?.length ? new Set(filter.hosts) : null;
  return (r) =>
    (all || typeSet.has(r.type)) &&
    carried(r.type) &&
    (!senders || senders.has(domainOf(r.mail_from) ?? "")) &&
    (!rcpts || rcpts.has(domainOf(r.rcpt_to) ?? "")) &&
    (!hosts || hosts.has(r.host));
}

export type CutResult = {
  /** Batches written by this call. */
  cut: number;
  /** When the oldest waiting event makes a partial batch due; null when nothing waits. */
  dueAt: number | null;
};

/**
 * Webhooks whose batches would come out the same: same subscription, limits and format, at
 * the same cursor, in the same situation. The events are read and encoded once for all of
 * them and the body is stored once.
 */
export function batchGroupKey(w: Batchable, limits: BatchLimits, opts: { allowPartial: boolean; maxBatches: number }): string {
  return JSON.stringify([w.cursorSeq, w.format, [...w.events].sort(), w.filter, limits, opts.allowPartial, opts.maxBatches]);
}

/**
 * `allowPartial` is false while the webhook has no free in-flight slot: a partial batch
 * cut then would only go stale behind the one in flight, so events keep filling it instead.
 * `maxBatches` bounds how far ahead of the receiver batches are cut (the rest wait as rows).
 * `group` are webhooks with the same batchGroupKey as `w`; they get the same batches.
 */
export function cutBatches(
  db: Database,
  w: Batchable,
  limits: BatchLimits,
  now: number,
  opts: { allowPartial: boolean; maxBatches: number; force?: boolean },
  group: readonly Batchable[] = [w],
): CutResult {
  const encode = (bodies: string[]) => encodeBody(w.format as WebhookFormat, bodies);
  const matches = compileFilter(w.events, w.filter, w.format as WebhookFormat);
  const select = db.query(
    "SELECT seq, type, host, mail_from, rcpt_to, received_at, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
  );
  let cursor = w.cursorSeq;
  let scannedTo = cursor;
  let cut = 0;
  const batch = new BatchBuilder(limits);

  const advance = (to: number) => {
    for (const m of group) advanceCursor(db, m.id, to);
  };
  const flush = () => {
    const b = batch.take();
    insertBatchGroup(
      db,
      { kind: "live", eventCount: b.bodies.length, firstSeq: b.firstSeq, lastSeq: b.lastSeq, body: encode(b.bodies), now },
      group.map((m) => ({ id: newId("msg_", now), webhookId: m.id })),
      scannedTo,
    );
    cursor = scannedTo;
    cut++;
  };

  for (let page = 0; page < MAX_PAGES && cut < opts.maxBatches; page++) {
    const rows = select.all(scannedTo, PAGE) as Row[];
    for (const r of rows) {
      if (matches(r)) {
        if (batch.overflows(r.body)) {
          flush();
          if (cut >= opts.maxBatches) return { cut, dueAt: null };
        }
        batch.add(r.seq, r.body, r.received_at);
      }
      scannedTo = r.seq;
      if (batch.full) {
        flush();
        if (cut >= opts.maxBatches) return { cut, dueAt: null };
      }
    }
    if (rows.length < PAGE) break;
  }

  if (batch.size === 0) {
    // Nothing of interest was scanned: skip those rows for good.
    if (scannedTo > cursor) advance(scannedTo);
    return { cut, dueAt: null };
  }
  const dueAt = batch.oldestAt + limits.maxWaitMs;
  if (opts.allowPartial && cut < opts.maxBatches && (opts.force || dueAt <= now)) {
    flush();
    return { cut, dueAt: null };
  }
  // The waiting events stay behind the cursor; rows before the first of them are done.
  if (batch.firstSeq - 1 > cursor) advance(batch.firstSeq - 1);
  return { cut, dueAt };
}
