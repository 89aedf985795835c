// Receiver outages: every event still arrives, in order, and the attempts are visible in
// the API; past retry_for a batch is dead-lettered (kept) until an operator retries it.
import { describe, expect, test } from "bun:test";
import {
  batchStatus,
  createWebhook,
  eventsOf,
  eventuallyValue,
  getWebhook,
  ids,
  makeEvents,
  postEvents,
  receivedIds,
  results,
  startDeliveryApp,
  type BatchStatus,
  type EventIn,
} from "../helpers/delivery.ts";
import { eventually } from "../helpers/eventually.ts";
import { testResources } from "../helpers/hookd.ts";

const t = testResources();

type Answer = { n: number; status: number; at: number; webhookId: string };

describe("receiver outages", () => {
  test("down, then 500s, then 429 Retry-After: 1, then up: every event arrives in order; attempts, failure codes and status show it", async () => {
    const rx = await t.receiver();
    const answered: Answer[] = [];
    let mode: 500 | 429 | 200 = 500;
    rx.respondWith((req, n) => {
      answered.push({ n, status: mode, at: Date.now(), webhookId: req.headers["webhook-id"] ?? "" });
      if (mode === 429) return { status: 429, headers: { "Retry-After": "1" }, body: "slow down" };
      return { status: mode, body: mode === 500 ? "internal error" : "ok" };
    });
    const app = t.track(await startDeliveryApp({ config: { delivery: { batch_max_wait: 50, batch_max_events: 10 } } }));
    const wh = await createWebhook(app, rx.url);
    const head = async (): Promise<BatchStatus | undefined> => (await batchStatus(app!, wh.id)).at(-1);

    // 1. Down: connections refused.
    await rx.close();
    const sent: EventIn[] = [];
    for (let g = 0; g < 5; g++) {
      const group = makeEvents(7, `outage-g${g}`);
      await postEvents(app, group);
      sent.push(...group);
    }
    await eventually(async () => {
      const h = await head();
      expect(h).toMatchObject({ state: "pending", failure_code: "connection_refused", response_code: null });
      expect(h!.attempts).toBeGreaterThanOrEqual(3);
      return true;
    });
    const down = await getWebhook(app, wh.id);
    expect(down.status).toBe("failing");
    expect(down.last_failure_code).toBe("connection_refused");
    expect(down.queue_depth).toBe(35);
    expect(rx.requests).toHaveLength(0);

    // 2. Up but answering 500.
    await rx.restart();
    await eventually(async () => {
      expect(await head()).toMatchObject({ state: "pending", failure_code: "http_500", response_code: "500" });
      return rx!.requests.length >= 2;
    });
    expect((await getWebhook(app, wh.id)).status).toBe("failing");

    // 3. Overloaded: 429 with Retry-After: 1.
    mode = 429;
    await eventually(async () => {
      expect(await head()).toMatchObject({ state: "pending", failure_code: "http_429", response_code: "429" });
      return true;
    });

    // 4. Up.
    mode = 200;
    await eventually(() => new Set(receivedIds(rx!.requests)).size === sent.length, { timeoutMs: 15_000 });

    // In order, each retried batch counted once (every repeat carried the same bytes).
    expect(receivedIds(rx.requests)).toEqual(ids(sent));
    // Each batch was accepted exactly once: after a 2xx it is never sent again.
    const accepted = answered.filter((a) => a.status === 200).map((a) => a.webhookId);
    expect(new Set(accepted).size).toBe(accepted.length);
    // Retry-After was honoured: the attempt after a 429 came at least a second later.
    const after429 = answered.filter((a, i) => a.status === 429 && answered[i + 1]);
    expect(after429.length).toBeGreaterThan(0);
    for (const a of after429) {
      const next = rx.requests[a.n]!; // requests[n] is request number n + 1
      expect(next.receivedAt - a.at).toBeGreaterThanOrEqual(950);
    }

    const status = await eventuallyValue(async () => {
      const s = await batchStatus(app!, wh.id);
      return s.length > 0 && s.every((b) => b.state === "delivered") && s.reduce((n, b) => n + b.events, 0) === sent.length ? s : null;
    });
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

  test("a receiver that does not answer within delivery.timeout: failure code timeout, retried, then delivered", async () => {
    const rx = await t.receiver();
    rx.hang();
    const app = t.track(await startDeliveryApp({ config: { delivery: { batch_max_wait: 50, timeout: 300 } } }));
    const wh = await createWebhook(app, rx.url);
    const sent = makeEvents(3, "slow");
    await postEvents(app, sent);
    await eventually(async () => {
      const h = (await batchStatus(app!, wh.id))[0];
      expect(h).toMatchObject({ state: "pending", failure_code: "timeout", response_code: null });
      // attempts counts a claim as it commits; the request reaches the receiver a moment later.
      return h!.attempts >= 2 && rx.requests.length >= 2;
    });
    // Timeouts back off by at least floorAfterTimeoutMs (100 ms here) plus the 300 ms wait.
    expect(rx.requests[1]!.receivedAt - rx.requests[0]!.receivedAt).toBeGreaterThanOrEqual(300 + 100 - 20);
    rx.respondWith({ status: 200 });
    const done = await eventuallyValue(async () => {
      const s = await batchStatus(app!, wh.id);
      return s[0]?.state === "delivered" ? s[0] : null;
    });
    expect(done.attempts).toBeGreaterThanOrEqual(3);
    expect(receivedIds(rx.requests)).toEqual(ids(sent));
  });

  test("status turns failing at the third consecutive failure, not before, and active again on success", async () => {
    const rx = await t.receiver();
    // 429 with Retry-After: 1 holds each retry back a second: time to look between attempts.
    const busy = { status: 429, headers: { "Retry-After": "1" } };
    rx.respondWith([busy, busy, busy]); // then 200s
    const app = t.track(await startDeliveryApp({ config: { delivery: { batch_max_wait: 50 } } }));
    const wh = await createWebhook(app, rx.url);
    await postEvents(app, makeEvents(2, "streak"));

    for (const [failures, status] of [[1, "active"], [2, "active"], [3, "failing"]] as const) {
      await eventually(async () => {
        const h = (await batchStatus(app!, wh.id))[0];
        return h?.attempts === failures && h.failure_code === "http_429";
      });
      const view = await getWebhook(app, wh.id);
      expect({ failures, status: view.status }).toEqual({ failures, status });
      expect(rx.requests).toHaveLength(failures);
    }
    await eventually(async () => (await batchStatus(app!, wh.id))[0]?.state === "delivered");
    expect((await getWebhook(app, wh.id)).status).toBe("active");
  }, 20_000);

  test("while the head batch waits out its retry, newer events wait too, without the engine spinning", async () => {
    const rx = await t.receiver();
    rx.respondWith({ status: 503, headers: { "Retry-After": "30" } });
    const app = t.track(await startDeliveryApp({ config: { delivery: { batch_max_wait: 50 } } }));
    const wh = await createWebhook(app, rx.url);
    await postEvents(app, makeEvents(1, "head"));
    await eventually(async () => (await batchStatus(app!, wh.id))[0]?.failure_code === "http_503");
    // A partial batch's worth of events arrives behind the waiting head batch; its
    // batch_max_wait passes while the webhook has no free slot.
    await postEvents(app, makeEvents(3, "behind"));
    await Bun.sleep(200);

    const before = process.cpuUsage();
    await Bun.sleep(1000);
    const used = process.cpuUsage(before);
    const cpuMs = (used.user + used.system) / 1000;
    // Idle is a few ms; a loop re-running its tick back to back burns hundreds.
    expect(cpuMs).toBeLessThan(200);
    expect(rx.requests).toHaveLength(1);
    expect((await getWebhook(app, wh.id)).queue_depth).toBe(4);
  });

  test("past retry_for a batch is dead-lettered and kept; POST /retry delivers it once the receiver is fixed", async () => {
    const rx = await t.receiver();
    rx.respondWith({ status: 500, body: "broken" });
    const app = t.track(await startDeliveryApp({ config: { delivery: { batch_max_wait: 50, retry_for: 1000 } } }));
    const wh = await createWebhook(app, rx.url);

    const sent = makeEvents(5, "dead");
    await postEvents(app, sent);
    const [dead] = await eventuallyValue(async () => {
      const s = await batchStatus(app!, wh.id);
      return s[0]?.state === "dead" ? s : null;
    });
    expect(dead).toMatchObject({ failure_code: "http_500", response_code: "500", next_attempt: null, events: 5 });
    expect(dead!.attempts).toBeGreaterThanOrEqual(2);
    // It was retried for (most of) retry_for before giving up: the next attempt would have
    // fallen after it, and no single delay exceeds maxMs (500).
    const span = rx.requests.at(-1)!.receivedAt - rx.requests[0]!.receivedAt;
    expect(span).toBeGreaterThanOrEqual(1000 - 500 - 50);
    expect(new Set(rx.requests.map((r) => r.headers["webhook-id"]))).toEqual(new Set([dead!.batch_id]));

    const view = await getWebhook(app, wh.id);
    expect(view.dead_batches).toBe(1);
    expect(view.pending_batches).toBe(0);
    expect(view.status).toBe("failing");
    expect((await batchStatus(app, wh.id, "?state=dead")).map((b) => b.batch_id)).toEqual([dead!.batch_id]);

    // A dead batch is not retried by itself, even once the receiver works again.
    rx.respondWith({ status: 200 });
    const seen = rx.requests.length;
    await Bun.sleep(700);
    expect(rx.requests).toHaveLength(seen);

    expect(await results<{ requeued: number }>(app.api("POST", `/webhooks/${wh.id}/retry`))).toEqual({ requeued: 1 });
    await rx.waitFor((rs) => rs.length > seen, 5000);
    const redelivered = rx.requests[seen]!;
    expect(redelivered.headers["webhook-id"]).toBe(dead!.batch_id);
    expect(redelivered.body).toBe(rx.requests[0]!.body);
    expect(ids(eventsOf(redelivered))).toEqual(ids(sent));

    const after = await eventuallyValue(async () => {
      const s = await batchStatus(app!, wh.id);
      return s[0]?.state === "delivered" ? s[0] : null;
    });
    expect(after).toMatchObject({ batch_id: dead!.batch_id, response_code: "200", failure_code: null });
    expect(after.attempts).toBe(dead!.attempts + 1);
    const fixed = await getWebhook(app, wh.id);
    expect(fixed.dead_batches).toBe(0);
    expect(fixed.status).toBe("active");
  }, 30_000);
});
