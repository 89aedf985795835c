// Batching: full batches go as soon as they fill, a partial one after batch_max_wait, and
// the per-webhook overrides (events, bytes) bound every batch.
import { describe, expect, test } from "bun:test";
import {
  batchRequests,
  batchStatus,
  createWebhook,
  eventsOf,
  eventuallyValue,
  ids,
  makeEvents,
  postEvents,
  receivedIds,
  startDeliveryApp,
} from "../helpers/delivery.ts";
import { eventually } from "../helpers/eventually.ts";
import { testResources } from "../helpers/hookd.ts";

const t = testResources();

describe("batching", () => {
  test("25,000 events with batch_max_events 10,000 arrive as exactly 3 batches: 10000 + 10000 + 5000", async () => {
    const rx = await t.receiver();
    // batch_max_wait is long so that the last 5,000 are not cut while the others are posted.
    const app = t.track(await startDeliveryApp({ config: { delivery: { batch_max_events: 10_000, batch_max_wait: 2000 } } }));
    const wh = await createWebhook(app, rx.url);

    const sent = makeEvents(25_000, "bulk");
    await postEvents(app, sent, 10_000);
    await rx.waitFor((rs) => rs.length >= 3, 20_000);
    // Give a 4th batch (a wrongly cut partial) the chance to show up.
    await Bun.sleep(300);

    expect(rx.requests.map((r) => eventsOf(r).length)).toEqual([10_000, 10_000, 5000]);
    expect(new Set(rx.requests.map((r) => r.headers["webhook-id"])).size).toBe(3);
    expect(receivedIds(rx.requests)).toEqual(ids(sent));
    const status = await eventuallyValue(async () => {
      const s = await batchStatus(app!, wh.id);
      return s.length === 3 && s.every((b) => b.state === "delivered") ? s : null;
    });
    // Newest first.
    expect(status.map((b) => b.events)).toEqual([5000, 10_000, 10_000]);
    expect(status.every((b) => b.attempts === 1)).toBe(true);
  }, 60_000);

  test("with batch_max_wait 200ms a lone event arrives after the wait, well within wait + 1s", async () => {
    const rx = await t.receiver();
    const app = t.track(await startDeliveryApp({ config: { delivery: { batch_max_wait: 200 } } }));
    await createWebhook(app, rx.url);

    const postStarted = Date.now();
    await postEvents(app, makeEvents(1, "lone"));
    const acked = Date.now();
    await rx.waitFor((rs) => rs.length >= 1, 5000);
    const receivedAt = rx.requests[0]!.receivedAt;
    expect(ids(eventsOf(rx.requests[0]!))).toEqual(["lone-000001"]);
    // A partial batch waits for more events first…
    expect(receivedAt - postStarted).toBeGreaterThanOrEqual(190);
    // …but not much longer than batch_max_wait.
    expect(receivedAt - acked).toBeLessThan(200 + 1000);
  });

  test("events posted within batch_max_wait of each other share one batch", async () => {
    const rx = await t.receiver();
    const app = t.track(await startDeliveryApp({ config: { delivery: { batch_max_wait: 1000 } } }));
    await createWebhook(app, rx.url);

    const sent = makeEvents(6, "share");
    for (const e of sent) {
      await postEvents(app, [e]);
      await Bun.sleep(20);
    }
    await rx.waitFor((rs) => rs.length >= 1, 5000);
    await Bun.sleep(200);
    expect(rx.requests).toHaveLength(1);
    expect(ids(eventsOf(rx.requests[0]!))).toEqual(ids(sent));
  });

  test("a webhook's own batch_max_events and batch_max_bytes bound every batch, order kept", async () => {
    const rx = await t.receiver();
    const app = t.track(await startDeliveryApp({ config: { delivery: { batch_max_wait: 100 } } }));
    await createWebhook(app, `${rx.url}/by-count`, { batch_max_events: 3 });
    await createWebhook(app, `${rx.url}/by-size`, { batch_max_bytes: "1KB" });

    const sent = makeEvents(20, "limits", { response: "250 2.0.0 Ok: queued as 4BCD21C03F2 " + "x".repeat(40) });
    await postEvents(app, sent);
    await eventually(() => receivedIds(batchRequests(rx!.requests, "/by-count")).length === 20 && receivedIds(batchRequests(rx!.requests, "/by-size")).length === 20);

    const byCount = batchRequests(rx.requests, "/by-count");
    expect(byCount.map((r) => eventsOf(r).length)).toEqual([3, 3, 3, 3, 3, 3, 2]);
    expect(receivedIds(byCount)).toEqual(ids(sent));

    const bySize = batchRequests(rx.requests, "/by-size");
    expect(bySize.length).toBeGreaterThan(1);
    for (const r of bySize) expect(Buffer.byteLength(r.body)).toBeLessThanOrEqual(1000);
    expect(receivedIds(bySize)).toEqual(ids(sent));
  });

  test("max_in_flight lets that many batches of a webhook be in flight at once, never more", async () => {
    const rx = await t.receiver();
    let inFlight = 0;
    let most = 0;
    rx.respondWith(async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await Bun.sleep(150);
      inFlight--;
      return { status: 200 };
    });
    const app = t.track(await startDeliveryApp({ config: { delivery: { batch_max_wait: 20, batch_max_events: 2, max_in_flight: 3 } } }));
    await createWebhook(app, rx.url);
    const sent = makeEvents(24, "par");
    await postEvents(app, sent);
    await eventually(() => new Set(receivedIds(rx!.requests)).size === sent.length);
    expect(most).toBe(3);
    // Out of order is allowed now, loss and duplication are not.
    expect(receivedIds(rx.requests).sort()).toEqual(ids(sent).sort());
  });
});
