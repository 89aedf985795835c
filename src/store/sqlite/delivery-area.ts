import type { Database } from "bun:sqlite";
import type { CutRow, DeliveryStore, ReplayBatch, ReplayStore, RetentionStore, ScanRow } from "../contract/delivery.ts";
import type { ViewStore } from "../contract/views.ts";
import { attemptsOf, deliveredPerMinute, getBatch, recentBatches, webhookQueue } from "./batch-views.ts";
import { batchBody, insertReplayBatch, pendingBatchCounts, releaseAllLeases, requeueDead } from "./batches.ts";
import type { Drizzle } from "./db.ts";
import { passUnit } from "./pass.ts";
import { countEventsInRange, eventsInRange, replayBacklog } from "./replay.ts";
import { pruneStep } from "./retention.ts";
import { listWebhooks } from "./webhooks.ts";

// Delivery on SQLite: the pass (pass.ts), the batcher's two reads, bodies, leases, replays,
// retention and the delivery views, each method a whole transaction or one read.

const REPLAY_PAGE = 5000;
const SCAN_COLUMNS = "seq, type, host, mail_from, rcpt_to, custom_type, notice, received_at, octet_length(body) AS bytes";
// `filter: {machine: false}` needs the flag of engagement rows; only such a webhook's scan
// pays for json_extract, and only on those rows (the others' scan is unchanged).
const MACHINE_COLUMN = ", CASE WHEN type IN ('open', 'click', 'list_unsubscribe') THEN json_extract(body, '$.machine') END AS machine";

export function deliveryStore(db: Database, drizzle: Drizzle): DeliveryStore {
  const scanPlain = db.prepare(`SELECT ${SCAN_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?`);
  const scanMachine = db.prepare(`SELECT ${SCAN_COLUMNS}${MACHINE_COLUMN} FROM events WHERE seq > ? ORDER BY seq LIMIT ?`);
  const cutRows = db.prepare(
    "SELECT seq, type, host, mail_from, rcpt_to, custom_type, notice, body FROM events WHERE seq > ? AND seq <= ? ORDER BY seq",
  );
  const pass = passUnit(db);
  return {
    // One read of the webhooks and their pending counts serves the whole pass: a pass runs
    // after every finished attempt, and with 100 webhooks per-webhook queries were most of it.
    passState: async () => ({ webhooks: listWebhooks(drizzle), pending: pendingBatchCounts(db) }),
    scan: async (afterSeq, limit, opts) => (opts.machine ? scanMachine : scanPlain).all(afterSeq, limit) as ScanRow[],
    cutRows: async (afterSeq, upToSeq) => cutRows.all(afterSeq, upToSeq) as CutRow[],
    pass: async (input) => pass(input),
    body: async (b) => batchBody(db, b.id, b.body_id),
    releaseLeases: async () => releaseAllLeases(db),
    requeueDead: async (webhookId, now, batchIds) => requeueDead(db, webhookId, now, batchIds),
  };
}

export function replayStore(db: Database): ReplayStore {
  // One transaction (one fsync) for the whole replay; the API caps how many events it covers.
  const insert = db.transaction(
    (webhookId: string, range: { since: number; until: number }, cutter: Parameters<ReplayStore["insert"]>[2], now: number) => {
      const out = { batches: 0, events: 0 };
      const store = (batches: readonly ReplayBatch[]) => {
        for (const b of batches) {
          insertReplayBatch(db, { ...b, webhookId, now });
          out.batches++;
          out.events += b.eventCount;
        }
      };
      for (let after = 0; ; ) {
        const rows = eventsInRange(db, range.since, range.until, after, REPLAY_PAGE);
        if (rows.length) after = rows[rows.length - 1]!.seq;
        store(cutter.page(rows));
        if (rows.length < REPLAY_PAGE) break;
      }
      store(cutter.end());
      return out;
    },
  );
  return {
    countInRange: async (since, until) => countEventsInRange(db, since, until),
    backlog: async (webhookId) => replayBacklog(db, webhookId),
    insert: async (webhookId, range, cutter, now) => insert.immediate(webhookId, range, cutter, now),
  };
}

export function retentionStore(db: Database): RetentionStore {
  return { pruneStep: async (cutoff) => pruneStep(db, cutoff) };
}

export function viewStore(db: Database): ViewStore {
  return {
    recentBatches: async (webhookId, limit, state) => recentBatches(db, webhookId, limit, state),
    batch: async (webhookId, batchId) => getBatch(db, webhookId, batchId),
    attempts: async (batchId) => attemptsOf(db, batchId),
    queues: async (webhooks) => webhooks.map((w) => webhookQueue(db, w)),
    deliveredPerMinute: async (ids, now, minutes) => ids.map((id) => deliveredPerMinute(db, id, now, minutes)),
  };
}
