// The shared driver suite, the delivery views: one small delivery history made through the
// store's own units (events, webhooks, the engine's pass), then every view of it. Part of
// driver.suite.ts (through driver-admin.suite.ts); postgres/views.test.ts also holds the
// PostgreSQL driver's views to the SQLite driver's on the same rows.
import { describe, expect, test } from "bun:test";
import type { Event } from "../../src/events/schema.ts";
import type { Store } from "../../src/store/driver.ts";
import { eventRows } from "../../src/store/event-rows.ts";
import { claimOf, cutOf, type DriverSetup, ended, pass, rowsOf, T, webhookRow, withStore } from "./driver-env.ts";

const ev = (id: string, over: Record<string, unknown>) =>
  ({ event_id: id, timestamp: new Date(T).toISOString(), host: "mx1", rcpt_to: "a@example.org", ...over }) as Event;

/**
 * Events 1–10 delivery (received at T), 11–13 bounce (T+1000), 14–15 custom profile.created
 * (T+2000). w1 takes everything: b1 (1–4) and b2 (5–10) cut at T+10, b3 (11–15) at T+20; b1
 * delivered at T+60500, b2 failed once then delivered at T+180100, b3 pending. w2 (bounce and
 * profile.created): c1 (11–15), dead. w3 (open): nothing.
 */
export async function viewScenario(s: Store): Promise<void> {
  await s.events.insert(rowsOf(10, "d"), [], "api", T);
  await s.events.insert(eventRows([1, 2, 3].map((i) => ev(`b${i}`, { type: "bounce" }))), [], "api", T + 1000);
  await s.events.insert(
    eventRows([1, 2].map((i) => ev(`p${i}`, { type: "custom", custom_type: "profile.created" }))),
    ["profile.created"],
    "api",
    T + 2000,
  );
  // Made a millisecond apart: webhooks made in the same one list in an order each driver picks.
  await s.webhooks.insert(webhookRow("w1", { createdAt: T - 3 }));
  await s.webhooks.insert(webhookRow("w2", { events: ["bounce", "profile.created"], createdAt: T - 2 }));
  await s.webhooks.insert(webhookRow("w3", { events: ["open"], createdAt: T - 1 }));
  const [w1, w2] = [
    { id: "w1", version: T },
    { id: "w2", version: T },
  ];
  await pass(s, { now: T + 10, cuts: [cutOf(w1, 0, 4, "b1", T + 10), cutOf(w1, 4, 10, "b2", T + 10)] });
  const c1 = { ids: ["c1"], body: new TextEncoder().encode("[c1]"), eventCount: 5, firstSeq: 11, lastSeq: 15, toSeq: 15 };
  await pass(s, {
    now: T + 20,
    cuts: [
      cutOf(w1, 10, 15, "b3", T + 20),
      { members: [{ webhookId: "w2", cursorSeq: 0, version: T }], batches: [c1], cursorTo: 15, now: T + 20 },
    ],
  });
  const first = await pass(s, { now: T + 30, claims: [claimOf(w1, 2, 3), claimOf(w2)] });
  const [b1, b2, c] = first.claims;
  await pass(s, {
    now: T + 60_500,
    ended: [
      ended(b1!, { kind: "delivered" }, T + 60_500),
      ended(b2!, { kind: "retry", nextAttemptAt: T + 120_000 }, T + 60_500),
      ended(c!, { kind: "dead" }, T + 60_500),
    ],
  });
  const [again] = (await pass(s, { now: T + 120_000, claims: [claimOf(w1, 1, 3)] })).claims;
  await pass(s, { now: T + 180_100, ended: [ended(again!, { kind: "delivered" }, T + 180_100)] });
}

/** Every view of the scenario worth comparing, by name. */
export const VIEW_CALLS: Record<string, (s: Store) => Promise<unknown>> = {
  recent: (s) => s.views.recentBatches("w1", 10),
  recentLimited: (s) => s.views.recentBatches("w1", 2),
  recentDelivered: (s) => s.views.recentBatches("w1", 10, "delivered"),
  recentDead: (s) => s.views.recentBatches("w2", 10, "dead"),
  recentNone: (s) => s.views.recentBatches("nope", 10),
  batch: (s) => s.views.batch("w1", "b2"),
  batchPending: (s) => s.views.batch("w1", "b3"),
  batchOfOther: (s) => s.views.batch("w2", "b2"),
  attempts: (s) => s.views.attempts("b2"),
  attemptsDead: (s) => s.views.attempts("c1"),
  attemptsNone: (s) => s.views.attempts("b3"),
  queues: (s) =>
    s.views.queues([
      { id: "w1", cursorSeq: 15, events: ["*"] },
      { id: "w2", cursorSeq: 15, events: ["bounce", "profile.created"] },
      { id: "w3", cursorSeq: 0, events: ["open"] },
      { id: "new", cursorSeq: 0, events: ["delivery", "profile.created"] },
      { id: "w1", cursorSeq: 12, events: ["bounce"] },
      { id: "w1", cursorSeq: 0, events: [] },
    ]),
  queuesNone: (s) => s.views.queues([]),
  perMinute: (s) => s.views.deliveredPerMinute(["w1", "w2", "nope"], T + 180_100, 5),
  perMinuteShort: (s) => s.views.deliveredPerMinute(["w1"], T + 60_500, 2),
  perMinuteNone: (s) => s.views.deliveredPerMinute([], T, 5),
};

export function viewCases(setup: DriverSetup): void {
  describe("views", () => {
    test(
      "a small delivery history: recent batches, one batch, attempts, queues, delivered per minute",
      withStore(setup, async (env) => {
        const s = await env.open();
        await viewScenario(s);
        const v = async (name: string) => VIEW_CALLS[name]!(s);
        const status = (id: string, state: string, events: number, createdAt: number, attempts: number, done: number | null) => ({
          id,
          kind: "live",
          state,
          event_count: events,
          bytes: `[${id}]`.length,
          created_at: createdAt,
          attempts,
          last_attempt_at: attempts ? (id === "b2" ? T + 120_000 : T + 30) : null,
          next_attempt_at: id === "b3" ? T + 20 : expect.any(Number),
          last_response_code: attempts ? (state === "delivered" ? 200 : 500) : null,
          last_failure_code: state === "dead" ? "http_5xx" : null,
          done_at: done,
        });
        const b1 = status("b1", "delivered", 4, T + 10, 1, T + 60_500);
        const b2 = status("b2", "delivered", 6, T + 10, 2, T + 180_100);
        const b3 = status("b3", "pending", 5, T + 20, 0, null);
        expect(await v("recent")).toEqual([b3, b2, b1]);
        expect(await v("recentLimited")).toEqual([b3, b2]);
        expect(await v("recentDelivered")).toEqual([b2, b1]);
        expect(await v("recentDead")).toEqual([status("c1", "dead", 5, T + 20, 1, T + 60_500)]);
        expect(await v("recentNone")).toEqual([]);
        expect(await v("batch")).toEqual({ ...b2, first_attempt_at: T + 30 });
        expect(Object.keys((await v("batch")) as object)).toEqual([
          "id",
          "kind",
          "state",
          "event_count",
          "bytes",
          "created_at",
          "attempts",
          "first_attempt_at",
          "last_attempt_at",
          "next_attempt_at",
          "last_response_code",
          "last_failure_code",
          "done_at",
        ]);
        expect(await v("batchPending")).toEqual({ ...b3, first_attempt_at: null });
        expect(await v("batchOfOther")).toBeNull();
        expect(await v("attempts")).toEqual([
          {
            batch_id: "b2",
            attempt: 1,
            started_at: T + 60_495,
            latency_ms: 5,
            response_code: 500,
            failure_code: "http_5xx",
            response_snippet: null,
          },
          {
            batch_id: "b2",
            attempt: 2,
            started_at: T + 180_095,
            latency_ms: 5,
            response_code: 200,
            failure_code: null,
            response_snippet: null,
          },
        ]);
        expect(((await v("attemptsDead")) as unknown[]).length).toBe(1);
        expect(await v("attemptsNone")).toEqual([]);
        expect(await v("queues")).toEqual([
          { depth: 5, pendingBatches: 1, deadBatches: 0, oldestPendingAt: T + 20 },
          { depth: 0, pendingBatches: 0, deadBatches: 1, oldestPendingAt: null },
          { depth: 0, pendingBatches: 0, deadBatches: 0, oldestPendingAt: null },
          { depth: 12, pendingBatches: 0, deadBatches: 0, oldestPendingAt: T },
          { depth: 6, pendingBatches: 1, deadBatches: 0, oldestPendingAt: T + 20 },
          { depth: 5, pendingBatches: 1, deadBatches: 0, oldestPendingAt: T + 20 },
        ]);
        expect(await v("queuesNone")).toEqual([]);
        // Minutes from T-60000: b1 in the third, b2 in the fifth.
        expect(await v("perMinute")).toEqual([
          [0, 0, 4, 0, 6],
          [0, 0, 0, 0, 0],
          [0, 0, 0, 0, 0],
        ]);
        // A batch done after `now` (a node's clock ahead) is in no minute.
        expect(await v("perMinuteShort")).toEqual([[0, 4]]);
        expect(await v("perMinuteNone")).toEqual([]);
        // A webhook's batches and attempts go with it.
        await s.webhooks.delete("w2");
        expect([await s.views.recentBatches("w2", 10), await s.views.attempts("c1")]).toEqual([[], []]);
      }),
    );
  });
}
