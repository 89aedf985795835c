// Batching: full batches go as soon as they fill, a partial one after batch_max_wait, and
// the per-webhook overrides (events, bytes) bound every batch. The engine is stepped by the
// test on a test clock; one test runs the real loop to show it wakes up for batch_max_wait.
import { describe, expect, test } from "bun:test";
import {
  batchRequests,
  batchStatus,
  createWebhook,
  eventsOf,
  ids,
  makeEvents,
  postEvents,
  receivedIds,
  startDeliveryApp,
  startSteppedApp,
} from "../helpers/delivery.ts";
import { testResources } from "../helpers/hookd.ts";
import type { RecordedRequest } from "../helpers/receiver.ts";

const t = testResources();
const sizes = (rs: readonly RecordedRequest[]) => rs.map((r) => eventsOf(r).length);

describe("batching", () => {
  test("25,000 events with batch_max_events 10,000: two full batches at once, the last 5,000 only after batch_max_wait", async () => {
    const rx = await t.receiver();
    const app = t.track(await startSteppedApp({ config: { delivery: { batch_max_events: 10_000, batch_max_wait: 60_000 } } }));
    const wh = await createWebhook(app, rx.url);

    const sent = makeEvents(25_000, "bulk");
    await postEvents(app, sent, 10_000);
    await app.deliver();
    expect(sizes(rx.requests)).toEqual([10_000, 10_000]);
    await app.after(60_000);

    expect(sizes(rx.requests)).toEqual([10_000, 10_000, 5000]);
    expect(new Set(rx.requests.map((r) => r.headers["webhook-id"])).size).toBe(3);
    expect(receivedIds(rx.requests)).toEqual(ids(sent));
    const status = await batchStatus(app, wh.id);
    // Newest first.
    expect(status.map((b) => b.events)).toEqual([5000, 10_000, 10_000]);
    expect(status.every((b) => b.state === "delivered" && b.attempts === 1)).toBe(true);
  }, 60_000);

  test("the loop wakes up for batch_max_wait: with 200ms a lone event arrives after the wait, well within wait + 1s", async () => {
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

  test("events that come within batch_max_wait of the first share one batch, sent once the first has waited it out", async () => {
    const rx = await t.receiver();
    const app = t.track(await startSteppedApp({ config: { delivery: { batch_max_wait: 10_000 } } }));
    await createWebhook(app, rx.url);

    const sent = makeEvents(6, "share");
    for (const e of sent) {
      await postEvents(app, [e]);
      await app.after(1000);
    }
    // 6 s of the 10 s wait have passed, then 9 s: nothing is cut yet.
    expect(rx.requests).toHaveLength(0);
    await app.after(3000);
    expect(rx.requests).toHaveLength(0);
    await app.after(2000);
    expect(rx.requests).toHaveLength(1);
    expect(ids(eventsOf(rx.requests[0]!))).toEqual(ids(sent));
  });

  test("a webhook's own batch_max_events and batch_max_bytes bound every batch, order kept", async () => {
    const rx = await t.receiver();
    const app = t.track(await startSteppedApp({ config: { delivery: { batch_max_wait: 100 } } }));
    await createWebhook(app, `${rx.url}/by-count`, { batch_max_events: 3 });
    await createWebhook(app, `${rx.url}/by-size`, { batch_max_bytes: "1KB" });

    const sent = makeEvents(20, "limits", { response: "250 2.0.0 Ok: queued as 4BCD21C03F2 " + "x".repeat(40) });
    await postEvents(app, sent);
    await app.after(1000);

    const byCount = batchRequests(rx.requests, "/by-count");
    expect(sizes(byCount)).toEqual([3, 3, 3, 3, 3, 3, 2]);
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
    let open = () => {};
    const answering = new Promise<void>((resolve) => (open = resolve));
    // The receiver holds every request until the test opens the gate.
    rx.respondWith(async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await answering;
      inFlight--;
      return { status: 200 };
    });
    const app = t.track(await startSteppedApp({ config: { delivery: { batch_max_events: 2, max_in_flight: 3 } } }));
    t.defer(open); // before the app stops (which waits for its attempts), should the test fail early
    await createWebhook(app, rx.url);
    const sent = makeEvents(24, "par");
    await postEvents(app, sent);

    expect((await app.engine.tick()).claimed).toBe(3);
    await rx.waitFor((rs) => rs.length === 3, 5000);
    expect(inFlight).toBe(3);
    // With all three slots taken, a pass claims nothing more.
    expect((await app.engine.tick()).claimed).toBe(0);
    open();
    await app.deliver();

    expect(most).toBe(3);
    expect(new Set(receivedIds(rx.requests)).size).toBe(sent.length);
    // Out of order is allowed now, loss and duplication are not.
    expect(receivedIds(rx.requests).sort()).toEqual(ids(sent).sort());
  });
});
