// Retention prunes only what is both old and delivered. Events a webhook has not reached
// yet, events of pending or dead-lettered batches, and dead-lettered batches themselves
// are never pruned, however old.
import { afterEach, describe, expect, test } from "bun:test";
import path from "node:path";
import { startRetention } from "../../src/deliver/retention.ts";
import type { Event } from "../../src/events/schema.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { insertBatch } from "../../src/store/sqlite/batches.ts";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/driver.ts";
import { pruneStep } from "../../src/store/sqlite/retention.ts";
import { insertWebhook } from "../../src/store/sqlite/webhooks.ts";
import { tempDir } from "../helpers/hookd.ts";
import { sqliteOf } from "../../src/store/sqlite/driver.ts";
import { storeEvents } from "../helpers/store.ts";

const DAY = 86_400_000;
const NOW = Date.now();
const OLD = NOW - 10 * DAY;
const CUTOFF = NOW - 7 * DAY;

let store: Store | null = null;
afterEach(() => {
  store?.close();
  store = null;
});

function open(): Store {
  store = openStore(path.join(tempDir(), "hookd.db"));
  return store;
}

/** Events e1..en (seq 1..n), stored at `receivedAt`. */
async function addEvents(s: Store, from: number, to: number, receivedAt: number) {
  const events: Event[] = [];
  for (let i = from; i <= to; i++) {
    events.push({
      event_id: `e${i}`,
      type: "delivery",
      timestamp: new Date(receivedAt).toISOString(),
      host: "mx1",
      rcpt_to: `u${i}@example.org`,
    } as Event);
  }
  await storeEvents(s, events, "api", receivedAt);
}

async function addWebhook(s: Store, id: string, cursorSeq: number) {
  await s.webhooks.insert({
    id,
    name: id,
    target: "http://127.0.0.1:9/",
    events: ["*"],
    secret: "whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ=",
    cursorSeq,
    createdAt: OLD,
    updatedAt: OLD,
    verification: "none",
  });
}

/** A live batch of seqs first..last in `state`, created (and done) at `at`, with one attempt. */
function addBatch(
  s: Store,
  id: string,
  webhookId: string,
  first: number,
  last: number,
  state: "pending" | "delivered" | "dead",
  at: number,
) {
  insertBatch(
    sqliteOf(s),
    {
      id,
      webhookId,
      kind: "live",
      eventCount: last - first + 1,
      firstSeq: first,
      lastSeq: last,
      body: new TextEncoder().encode("[]"),
      now: at,
    },
    null,
  );
  sqliteOf(s)
    .query("UPDATE batches SET state = ?, attempts = 1, first_attempt_at = ?, last_attempt_at = ?, done_at = ? WHERE id = ?")
    .run(state, at, at, state === "pending" ? null : at, id);
  sqliteOf(s)
    .query(
      "INSERT INTO attempts (batch_id, webhook_id, attempt, started_at, latency_ms, response_code, failure_code) VALUES (?, ?, 1, ?, 5, ?, ?)",
    )
    .run(id, webhookId, at, state === "delivered" ? 200 : 500, state === "delivered" ? null : "http_500");
}

/** Runs steps until one prunes nothing (bounded). */
function pruneAll(s: Store, cutoff = CUTOFF) {
  const total = { events: 0, batches: 0, attempts: 0, steps: 0 };
  for (let i = 0; i < 100; i++) {
    const r = pruneStep(sqliteOf(s), cutoff);
    if (r.events + r.batches + r.attempts === 0) return total;
    total.events += r.events;
    total.batches += r.batches;
    total.attempts += r.attempts;
    total.steps++;
  }
  throw new Error("pruneStep never ran out of work");
}

const eventIds = (s: Store) =>
  (sqliteOf(s).query("SELECT event_id FROM events ORDER BY seq").all() as { event_id: string }[]).map((r) => r.event_id);
const batchIds = (s: Store) => (sqliteOf(s).query("SELECT id FROM batches ORDER BY id").all() as { id: string }[]).map((r) => r.id);
const attemptBatchIds = (s: Store) =>
  (sqliteOf(s).query("SELECT batch_id FROM attempts ORDER BY batch_id").all() as { batch_id: string }[]).map((r) => r.batch_id);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `e${from + i}`);

describe("retention (pruneStep)", () => {
  test("delivered events and delivered batches older than the cutoff are pruned; newer ones are kept", () => {
    const s = open();
    addEvents(s, 1, 10, OLD);
    addEvents(s, 11, 12, NOW);
    addWebhook(s, "w1", 12);
    addBatch(s, "b-old", "w1", 1, 5, "delivered", OLD);
    addBatch(s, "b-recent", "w1", 6, 10, "delivered", NOW - DAY);
    addBatch(s, "b-new", "w1", 11, 12, "delivered", NOW);

    expect(pruneAll(s).events).toBe(10);
    expect(eventIds(s)).toEqual(["e11", "e12"]);
    expect(batchIds(s)).toEqual(["b-new", "b-recent"]);
    expect(attemptBatchIds(s)).toEqual(["b-new", "b-recent"]);
    // Done: another pass finds nothing.
    expect(pruneStep(sqliteOf(s), CUTOFF)).toEqual({ events: 0, batches: 0, attempts: 0 });
  });

  test("pruneStep reports the rows it pruned from each table", () => {
    const s = open();
    addEvents(s, 1, 10, OLD);
    addWebhook(s, "w1", 10);
    addBatch(s, "b-old", "w1", 1, 5, "delivered", OLD);
    addBatch(s, "b-recent", "w1", 6, 10, "delivered", NOW);
    // One old delivered batch with one attempt: 1 batch row and 1 attempt row go.
    expect(pruneStep(sqliteOf(s), CUTOFF)).toEqual({ events: 10, batches: 1, attempts: 1 });
    expect(batchIds(s)).toEqual(["b-recent"]);
    expect(attemptBatchIds(s)).toEqual(["b-recent"]);
  });

  test("events a webhook's cursor has not passed yet are kept, however old", () => {
    const s = open();
    addEvents(s, 1, 12, OLD);
    addWebhook(s, "up-to-date", 12);
    addWebhook(s, "behind", 4); // e.g. paused: has not batched e5.. yet
    addBatch(s, "b1", "up-to-date", 1, 12, "delivered", OLD);
    addBatch(s, "b2", "behind", 1, 4, "delivered", OLD);

    pruneAll(s);
    expect(eventIds(s)).toEqual(range(5, 12));
    expect(batchIds(s)).toEqual([]);

    // Once it catches up, they go too.
    sqliteOf(s).run("UPDATE webhooks SET cursor_seq = 12 WHERE id = 'behind'");
    pruneAll(s);
    expect(eventIds(s)).toEqual([]);
  });

  test("events of pending and dead batches are kept; dead batches and their attempts are never pruned", () => {
    const s = open();
    addEvents(s, 1, 12, OLD);
    addWebhook(s, "w1", 12);
    addBatch(s, "b1-delivered", "w1", 1, 2, "delivered", OLD);
    addBatch(s, "b2-pending", "w1", 3, 4, "pending", OLD);
    addBatch(s, "b3-delivered", "w1", 5, 6, "delivered", OLD);
    addBatch(s, "b4-dead", "w1", 7, 8, "dead", OLD);
    addBatch(s, "b5-delivered", "w1", 9, 12, "delivered", OLD);

    pruneAll(s);
    const left = eventIds(s);
    expect(left).not.toContain("e1");
    expect(left).not.toContain("e2");
    for (const id of ["e3", "e4", "e7", "e8"]) expect(left).toContain(id);
    expect(batchIds(s)).toEqual(["b2-pending", "b4-dead"]);
    expect(attemptBatchIds(s)).toEqual(["b2-pending", "b4-dead"]);

    // Even with a cutoff in the future the dead batch and its events stay.
    pruneAll(s, NOW + DAY);
    expect(batchIds(s)).toEqual(["b2-pending", "b4-dead"]);
    for (const id of ["e3", "e4", "e7", "e8"]) expect(eventIds(s)).toContain(id);

    // The dead batch's events go only after it is finally delivered.
    sqliteOf(s).run(`UPDATE batches SET state = 'delivered', done_at = ${OLD} WHERE id IN ('b2-pending', 'b4-dead')`);
    pruneAll(s, NOW + DAY);
    expect(eventIds(s)).toEqual([]);
    expect(batchIds(s)).toEqual([]);
  });

  test("a dead batch of one webhook keeps its events even when every other webhook is done with them", () => {
    const s = open();
    addEvents(s, 1, 6, OLD);
    addWebhook(s, "ok", 6);
    addWebhook(s, "broken", 6);
    addBatch(s, "ok-1", "ok", 1, 6, "delivered", OLD);
    addBatch(s, "broken-1", "broken", 1, 3, "delivered", OLD);
    addBatch(s, "broken-2", "broken", 4, 6, "dead", OLD);

    pruneAll(s);
    expect(eventIds(s)).toEqual(range(4, 6));
    expect(batchIds(s)).toEqual(["broken-2"]);
  });

  test("large backlogs are pruned in bounded steps", () => {
    const s = open();
    addEvents(s, 1, 5000, OLD);
    addWebhook(s, "w1", 5000);
    addBatch(s, "b1", "w1", 1, 5000, "delivered", OLD);
    const first = pruneStep(sqliteOf(s), CUTOFF);
    expect(first.events).toBeGreaterThan(0);
    expect(first.events).toBeLessThan(5000);
    const rest = pruneAll(s);
    expect(first.events + rest.events).toBe(5000);
    expect(eventIds(s)).toEqual([]);
  });

  test("startRetention prunes with the configured retention (one run, by tick())", async () => {
    const s = open();
    addEvents(s, 1, 4, OLD);
    addEvents(s, 5, 6, NOW);
    addWebhook(s, "w1", 6);
    addBatch(s, "b1", "w1", 1, 4, "delivered", OLD);
    addBatch(s, "b2", "w1", 5, 6, "delivered", NOW);
    const r = startRetention(s, 7 * DAY, silentLogger, { now: () => NOW });
    try {
      await r.tick();
      expect(eventIds(s)).toEqual(["e5", "e6"]);
      expect(batchIds(s)).toEqual(["b2"]);
    } finally {
      await r.stop();
    }
  });
});
