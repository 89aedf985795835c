// The SQLite driver of the sketched boundary: today's src/store functions, each unit of work
// run synchronously inside an async method. Nothing awaits inside a transaction, so nothing
// else on the thread can run in the middle of one: no mutex.
import { newId } from "../../../src/lib/ids.ts";
import { claimBatch, headBatches, insertBatchGroup, recordAttempt } from "../../../src/store/sqlite/batches.ts";
import { loadCheckpoint, saveCheckpointJson } from "../../../src/store/sqlite/checkpoints.ts";
import { openDatabase as openStore } from "../../../src/store/sqlite/db.ts";
import { eventsAfter, insertRows, insertRowsTx } from "../../../src/store/sqlite/events.ts";
import { type EventRows } from "../../../src/store/event-rows.ts";
import type { Checkpoint, Claim, Outcome, StoreDriver } from "./types.ts";

export function openSqliteDriver(path: string, node = "local"): StoreDriver {
  const store = openStore(path);
  const db = store.sqlite;
  const commit = db.transaction((rows: EventRows, source: string, checkpoint: Checkpoint | null, now: number) => {
    const r = insertRowsTx(db, rows, source, now);
    if (checkpoint) saveCheckpointJson(db, source, checkpoint, "{}", now);
    return { types: r.types };
  });
  return {
    kind: "sqlite",
    node,
    insertEvents: async (rows, source, now) => insertRows(db, rows, [], source, now),
    commitChunk: async (rows, source, checkpoint, now) => commit.immediate(rows, source, checkpoint, now),
    loadCheckpoint: async (source) => loadCheckpoint(db, source)?.checkpoint ?? null,
    eventsAfter: async (seq, limit) =>
      eventsAfter(db, seq, limit).map((r) => ({ seq: r.seq, eventId: (JSON.parse(r.body) as { event_id: string }).event_id })),
    async createWebhook(id, now) {
      db.query(
        "INSERT INTO webhooks (id, name, target, events, secret, created_at, updated_at) VALUES (?, ?, 'http://127.0.0.1:9/', '[\"*\"]', 'whsec_x', ?, ?)",
      ).run(id, id, now, now);
    },
    async cutBatch(webhookId, fromCursor, toSeq, body, now) {
      return db
        .transaction(() => {
          const w = db.query("SELECT cursor_seq FROM webhooks WHERE id = ?").get(webhookId) as { cursor_seq: number } | null;
          if (!w || w.cursor_seq !== fromCursor) return false;
          insertBatchGroup(
            db,
            { kind: "live", eventCount: toSeq - fromCursor, firstSeq: fromCursor + 1, lastSeq: toSeq, body, now },
            [{ id: newId("msg_", now), webhookId }],
            toSeq,
          );
          return true;
        })
        .immediate();
    },
    async claimDue(webhookIds, now, leaseMs) {
      return db
        .transaction(() => {
          const out: Claim[] = [];
          for (const w of webhookIds) {
            const [h] = headBatches(db, w, 1);
            if (!h || h.next_attempt_at > now || (h.lease_until !== null && h.lease_until >= now)) continue;
            const token = newId("", now);
            const b = claimBatch(db, h.id, token, now, leaseMs);
            if (b) out.push({ batchId: b.id, webhookId: w, token, attempts: b.attempts });
          }
          return out;
        })
        .immediate();
    },
    async recordOutcomes(outcomes: readonly Outcome[]) {
      return db
        .transaction(() =>
          outcomes.map((o) =>
            recordAttempt(
              db,
              {
                batchId: o.batchId,
                webhookId: o.webhookId,
                token: o.token,
                attempt: o.attempt,
                startedAt: o.at,
                latencyMs: 1,
                responseCode: o.delivered ? 200 : 500,
                failureCode: o.delivered ? null : "http_5xx",
                responseSnippet: null,
              },
              o.delivered ? { kind: "delivered" } : { kind: "retry", nextAttemptAt: o.nextAttemptAt },
              o.at,
            ),
          ),
        )
        .immediate();
    },
    async close() {
      store.close();
    },
  };
}
