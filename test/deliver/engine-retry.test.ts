// Receiver outages: every event still arrives, in order, and the attempts are visible in
// the API; past retry_for a batch is dead-lettered (kept) until an operator retries it.
// The engine is stepped by the test, and backoff is waited out by moving its clock.
import { describe, expect, test } from "bun:test";
import {
  batchStatus,
  createWebhook,
  eventsOf,
  getWebhook,
  ids,
  makeEvents,
  postEvents,
  receivedIds,
  results,
  startSteppedApp,
  type BatchStatus,
  type EventIn,
  type SteppedApp,
} from "../helpers/delivery.ts";
import { testResources } from "../helpers/hookd.ts";
import { sqlRows } from "../helpers/store-sql.ts";

const t = testResources();

type Answer = { status: number; webhookId: string };

/** The longest FAST_RETRY backoff: one step of it lets every due retry run. */
const MAX_BACKOFF = 500;

const attemptStarts = async (app: SteppedApp, batchId: string) =>
  (
    await sqlRows<{ started_at: unknown }>(app.hookd.store, "SELECT started_at FROM attempts WHERE batch_id = ? ORDER BY attempt", batchId)
  ).map((r) => Number(r.started_at));

describe("receiver outages", () => {
  test("down, then 500s, then 429 Retry-After: 30, then up: every event arrives in order; attempts, failure codes and status show it", async () => {
    const rx = await t.receiver();
    const answered: Answer[] = [];
    let mode: 500 | 429 | 200 = 500;
    rx.respondWith((req) => {
      answered.push({ status: mode, webhookId: req.headers["webhook-id"] ?? "" });
      if (mode === 429) return { status: 429, headers: { "Retry-After": "30" }, body: "slow down" };
      return { status: mode, body: mode === 500 ? "internal error" : "ok" };
    });
    const app = t.track(await startSteppedApp({ config: { delivery: { batch_max_wait: 50, batch_max_events: 10 } } }));
    const wh = await createWebhook(app, rx.url);
    const head = async (): Promise<BatchStatus | undefined> => (await batchStatus(app, wh.id)).at(-1);

    // 1. Down: connections refused.
    await rx.close();
    const sent: EventIn[] = [];
    for (let g = 0; g < 5; g++) {
      const group = makeEvents(7, `outage-g${g}`);
      await postEvents(app, group);
      sent.push(...group);
    }
    for (let i = 0; i < 3; i++) await app.after(MAX_BACKOFF);
    const refused = await head();
    expect(refused).toMatchObject({ state: "pending", failure_code: "connection_refused", response_code: null });
    expect(refused!.attempts).toBeGreaterThanOrEqual(3);
    const down = await getWebhook(app, wh.id);
    expect(down.status).toBe("failing");
    expect(down.last_failure_code).toBe("connection_refused");
    expect(down.queue_depth).toBe(35);
    expect(rx.requests).toHaveLength(0);

    // 2. Up but answering 500.
    await rx.restart();
    await app.after(MAX_BACKOFF);
    await app.after(MAX_BACKOFF);
    expect(await head()).toMatchObject({ state: "pending", failure_code: "http_500", response_code: "500" });
    expect(rx.requests.length).toBeGreaterThanOrEqual(2);
    expect((await getWebhook(app, wh.id)).status).toBe("failing");

    // 3. Overloaded: 429 with Retry-After: 30, which holds the batch back 30 s, not the backoff's 0.5 s.
    mode = 429;
    await app.after(MAX_BACKOFF);
    expect(await head()).toMatchObject({ state: "pending", failure_code: "http_429", response_code: "429" });
    const after429 = rx.requests.length;
    await app.after(29_000);
    expect(rx.requests).toHaveLength(after429);

    // 4. Up.
    mode = 200;
    await app.after(1000);
    expect(rx.requests.length).toBeGreaterThan(after429);
    expect(new Set(receivedIds(rx.requests)).size).toBe(sent.length);

    // In order, each retried batch counted once (every repeat carried the same bytes).
    expect(receivedIds(rx.requests)).toEqual(ids(sent));
    // Each batch was accepted exactly once: after a 2xx it is never sent again.
    const accepted = answered.filter((a) => a.status === 200).map((a) => a.webhookId);
    expect(new Set(accepted).size).toBe(accepted.length);

    const status = await batchStatus(app, wh.id);
    expect(status.every((b) => b.state === "delivered")).toBe(true);
    expect(status.reduce((n, b) => n + b.events, 0)).toBe(sent.length);
    const first = status.at(-1)!;
    const refusedOrFailed = answered.filter((a) => a.webhookId === first.batch_id).length;
    // The head batch also had its refused attempts, which the receiver never saw.
    expect(first.attempts).toBeGreaterThan(refusedOrFailed);
    expect(first).toMatchObject({ response_code: "200", failure_code: null, next_attempt: null });
    const recovered = await getWebhook(app, wh.id);
    expect(recovered.status).toBe("active");
    expect(recovered.last_successful).not.toBeNull();
    expect(recovered.queue_depth).toBe(0);
  }, 40_000);

  test("a receiver that does not answer within delivery.timeout: failure code timeout, retried no sooner than the floor after a timeout, then delivered", async () => {
    const rx = await t.receiver();
    rx.hang();
    const floor = 10_000;
    const app = t.track(
      await startSteppedApp({
        config: { delivery: { batch_max_wait: 50, timeout: 300 } },
        retryPolicy: { baseMs: 50, maxMs: 500, floorAfterTimeoutMs: floor },
      }),
    );
    const wh = await createWebhook(app, rx.url);
    const sent = makeEvents(3, "slow");
    await postEvents(app, sent);
    await app.after(100);
    expect((await batchStatus(app, wh.id))[0]).toMatchObject({
      state: "pending",
      attempts: 1,
      failure_code: "timeout",
      response_code: null,
    });
    expect(rx.requests).toHaveLength(1);

    // The backoff's own draw is at most 50 ms; a timeout waits the floor instead.
    await app.after(floor - 1000);
    expect(rx.requests).toHaveLength(1);
    await app.after(1000);
    expect(rx.requests).toHaveLength(2);
    expect((await batchStatus(app, wh.id))[0]).toMatchObject({ state: "pending", attempts: 2, failure_code: "timeout" });

    rx.respondWith({ status: 200 });
    await app.after(floor);
    const [done] = await batchStatus(app, wh.id);
    expect(done).toMatchObject({ state: "delivered", attempts: 3, response_code: "200", failure_code: null });
    expect(receivedIds(rx.requests)).toEqual(ids(sent));
  });

  test("status turns failing at the third consecutive failure, not before, and active again on success", async () => {
    const rx = await t.receiver();
    // 429 with Retry-After: 1 holds each retry back a second: one attempt per step.
    const busy = { status: 429, headers: { "Retry-After": "1" } };
    rx.respondWith([busy, busy, busy]); // then 200s
    const app = t.track(await startSteppedApp({ config: { delivery: { batch_max_wait: 50 } } }));
    const wh = await createWebhook(app, rx.url);
    await postEvents(app, makeEvents(2, "streak"));

    for (const [failures, status] of [
      [1, "active"],
      [2, "active"],
      [3, "failing"],
    ] as const) {
      await app.after(1000);
      expect((await batchStatus(app, wh.id))[0]).toMatchObject({ attempts: failures, failure_code: "http_429" });
      const view = await getWebhook(app, wh.id);
      expect({ failures, status: view.status }).toEqual({ failures, status });
      expect(rx.requests).toHaveLength(failures);
    }
    await app.after(1000);
    expect((await batchStatus(app, wh.id))[0]?.state).toBe("delivered");
    expect((await getWebhook(app, wh.id)).status).toBe("active");
  });

  test("while the head batch waits out its retry, newer events wait too, and the loop would sleep, not spin", async () => {
    const rx = await t.receiver();
    rx.respondWith({ status: 503, headers: { "Retry-After": "30" } });
    const app = t.track(await startSteppedApp({ config: { delivery: { batch_max_wait: 50 } } }));
    const wh = await createWebhook(app, rx.url);
    await postEvents(app, makeEvents(1, "head"));
    await app.after(100);
    expect((await batchStatus(app, wh.id))[0]?.failure_code).toBe("http_503");
    // A partial batch's worth of events arrives behind the waiting head batch; its
    // batch_max_wait passes while the webhook has no free slot.
    await postEvents(app, makeEvents(3, "behind"));
    await app.after(1000);

    const before = app.clock.now();
    const pass = await app.engine.tick();
    expect(pass).toMatchObject({ recorded: 0, cut: 0, claimed: 0 });
    // The overdue partial batch must not set the wake-up: a wake-up in the past is a busy loop.
    expect(pass.wakeAt).toBeGreaterThan(before);
    expect(rx.requests).toHaveLength(1);
    expect((await getWebhook(app, wh.id)).queue_depth).toBe(4);
  });

  test("past retry_for a batch is dead-lettered and kept; POST /retry delivers it once the receiver is fixed", async () => {
    const rx = await t.receiver();
    rx.respondWith({ status: 500, body: "broken" });
    const app = t.track(await startSteppedApp({ config: { delivery: { batch_max_wait: 50, retry_for: 1000 } } }));
    const wh = await createWebhook(app, rx.url);

    const sent = makeEvents(5, "dead");
    await postEvents(app, sent);
    let dead: BatchStatus | undefined;
    for (let step = 0; step < 10 && !dead; step++) {
      await app.after(MAX_BACKOFF);
      dead = (await batchStatus(app, wh.id)).find((b) => b.state === "dead");
    }
    expect(dead).toMatchObject({ failure_code: "http_500", response_code: "500", next_attempt: null, events: 5 });
    expect(dead!.attempts).toBeGreaterThanOrEqual(2);
    // It was retried for (most of) retry_for before giving up: the next attempt would have
    // fallen after it, and no single delay exceeds maxMs (500).
    const starts = await attemptStarts(app, dead!.batch_id);
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual(1000 - MAX_BACKOFF - 50);
    expect(new Set(rx.requests.map((r) => r.headers["webhook-id"]))).toEqual(new Set([dead!.batch_id]));

    const view = await getWebhook(app, wh.id);
    expect(view.dead_batches).toBe(1);
    expect(view.pending_batches).toBe(0);
    expect(view.status).toBe("failing");
    expect((await batchStatus(app, wh.id, "?state=dead")).map((b) => b.batch_id)).toEqual([dead!.batch_id]);

    // A dead batch is not retried by itself, even once the receiver works again.
    rx.respondWith({ status: 200 });
    const seen = rx.requests.length;
    await app.after(3_600_000);
    expect(rx.requests).toHaveLength(seen);

    expect(await results<{ requeued: number }>(app.api("POST", `/webhooks/${wh.id}/retry`))).toEqual({ requeued: 1 });
    await app.deliver();
    expect(rx.requests).toHaveLength(seen + 1);
    const redelivered = rx.requests[seen]!;
    expect(redelivered.headers["webhook-id"]).toBe(dead!.batch_id);
    expect(redelivered.body).toBe(rx.requests[0]!.body);
    expect(ids(eventsOf(redelivered))).toEqual(ids(sent));

    const [after] = await batchStatus(app, wh.id);
    expect(after).toMatchObject({ batch_id: dead!.batch_id, state: "delivered", response_code: "200", failure_code: null });
    expect(after!.attempts).toBe(dead!.attempts + 1);
    const fixed = await getWebhook(app, wh.id);
    expect(fixed.dead_batches).toBe(0);
    expect(fixed.status).toBe("active");
  });
});
