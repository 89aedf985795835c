// POST /webhooks/{id}/replay: exactly the stored events with since ≤ timestamp < until
// (and of the given types, and that the webhook subscribes to), with their original
// event_id, in new batches.
import { describe, expect, test } from "bun:test";
import { errorBody } from "../helpers/hookd.ts";
import {
  batchRequests,
  batchStatus,
  createWebhook,
  eventsOf,
  postEvents,
  receivedIds,
  results,
  startSteppedApp,
  type EventIn,
  type ReceivedEvent,
} from "../helpers/delivery.ts";
import { testResources } from "../helpers/hookd.ts";
import type { RecordedRequest } from "../helpers/receiver.ts";

const t = testResources();

const HOUR = "2026-03-01T10";
const at = (minute: number, second: number) => `${HOUR}:${String(minute).padStart(2, "0")}:${String(second).padStart(2, "0")}.000Z`;

/** Minutes 0..9 of an hour, at :00 (a delivery) and :30 (a bounce), posted out of time order. */
function spreadEvents(): EventIn[] {
  const out: EventIn[] = [];
  for (let m = 0; m < 10; m++) {
    out.push({ type: "delivery", event_id: `rp-${m}-00`, timestamp: at(m, 0), rcpt_to: `d${m}@example.org` });
    out.push({ type: "bounce", event_id: `rp-${m}-30`, timestamp: at(m, 30), rcpt_to: `b${m}@example.org`, bounce_class: "hard" });
  }
  // Store order differs from time order, so a replay that went by seq would show it.
  return [...out.filter((_, i) => i % 2 === 1).reverse(), ...out.filter((_, i) => i % 2 === 0)];
}

const inRange = (e: EventIn, since: string, until: string) => e.timestamp! >= since && e.timestamp! < until;
const sortedIds = (xs: readonly { event_id?: string }[]) => xs.map((e) => e.event_id!).sort();

describe("replay", () => {
  test("re-sends exactly the events of [since, until), with their event_id, in new batches", async () => {
    const rx = await t.receiver();
    const app = t.track(await startSteppedApp({ config: { delivery: { batch_max_wait: 50 } } }));
    const wh = await createWebhook(app, `${rx.url}/all`);
    const bounces = await createWebhook(app, `${rx.url}/bounces`, { events: ["bounce"] });

    const sent = spreadEvents();
    await postEvents(app, sent);
    await app.after(100);
    expect(receivedIds(batchRequests(rx.requests, "/all"))).toHaveLength(20);
    expect(receivedIds(batchRequests(rx.requests, "/bounces"))).toHaveLength(10);
    const live = batchRequests(rx.requests, "/all");
    const liveIds = new Set(live.map((r) => r.headers["webhook-id"]));
    const original = new Map(live.flatMap(eventsOf).map((e) => [e.event_id, e]));
    const seen = rx.requests.length;
    const newRequests = (path: string, from: number) => rx!.requests.slice(from).filter((r) => r.path === path);

    // A middle window; the boundaries are events of their own: 10:03:00 is in, 10:07:00 is out.
    const since = at(3, 0);
    const until = at(7, 0);
    const want = sent.filter((e) => inRange(e, since, until));
    expect(want).toHaveLength(8);
    const r = await results<{ batches: number; events: number }>(app.api("POST", `/webhooks/${wh.id}/replay`, { body: { since, until } }));
    expect(r).toEqual({ batches: 1, events: 8 });
    await app.deliver();
    const replayed = newRequests("/all", seen);
    const got = replayed.flatMap(eventsOf);
    expect(sortedIds(got)).toEqual(sortedIds(want));
    // The same events as first delivered, byte for byte in their JSON.
    for (const e of got) expect(e).toEqual(original.get(e.event_id)!);
    // New batches: webhook-ids never used before, shown as replay batches.
    for (const req of replayed) expect(liveIds.has(req.headers["webhook-id"])).toBe(false);
    // (The replay batch is stamped by the API's clock, the live ones by the engine's, which the test moved on.)
    const replays = (await batchStatus(app, wh.id)).filter((b) => b.kind === "replay");
    expect(replays.map((b) => b.batch_id)).toEqual(replayed.map((q) => q.headers["webhook-id"]!));
    expect(replays.every((b) => b.state === "delivered")).toBe(true);
    // The other webhook is untouched by this webhook's replay.
    expect(newRequests("/bounces", seen)).toHaveLength(0);

    // events: ["bounce"] restricts the types.
    const seen2 = rx.requests.length;
    const r2 = await results(app.api("POST", `/webhooks/${wh.id}/replay`, { body: { since, until, events: ["bounce"] } }));
    expect(r2).toEqual({ batches: 1, events: 4 });
    await app.deliver();
    expect(sortedIds(newRequests("/all", seen2).flatMap(eventsOf))).toEqual(sortedIds(want.filter((e) => e.type === "bounce")));

    // Without until: everything from since to now.
    const seen3 = rx.requests.length;
    const r3 = await results(app.api("POST", `/webhooks/${wh.id}/replay`, { body: { since: at(8, 0) } }));
    expect(r3).toEqual({ batches: 1, events: 4 });
    await app.deliver();
    expect(sortedIds(newRequests("/all", seen3).flatMap(eventsOf))).toEqual(["rp-8-00", "rp-8-30", "rp-9-00", "rp-9-30"]);

    // A webhook's replay only has what it subscribes to.
    const seen4 = rx.requests.length;
    const r4 = await results(app.api("POST", `/webhooks/${bounces.id}/replay`, { body: { since: at(0, 0), until: at(10, 0) } }));
    expect(r4).toEqual({ batches: 1, events: 10 });
    await app.deliver();
    expect(sortedIds(newRequests("/bounces", seen4).flatMap(eventsOf))).toEqual(sortedIds(sent.filter((e) => e.type === "bounce")));
  });

  test("a replay larger than batch_max_events is split into batches, each event once", async () => {
    const rx = await t.receiver();
    const app = t.track(await startSteppedApp({ config: { delivery: { batch_max_wait: 50 } } }));
    const wh = await createWebhook(app, rx.url, { batch_max_events: 3 });
    const sent = spreadEvents();
    await postEvents(app, sent);
    await app.after(100);
    expect(receivedIds(rx.requests)).toHaveLength(20);
    const seen = rx.requests.length;

    const r = await results<{ batches: number; events: number }>(
      app.api("POST", `/webhooks/${wh.id}/replay`, { body: { since: at(0, 0), until: at(5, 0) } }),
    );
    expect(r).toEqual({ batches: 4, events: 10 });
    await app.deliver();
    const replayed: RecordedRequest[] = rx.requests.slice(seen);
    expect(replayed.map((q) => eventsOf(q).length)).toEqual([3, 3, 3, 1]);
    const got: ReceivedEvent[] = replayed.flatMap(eventsOf);
    expect(sortedIds(got)).toEqual(sortedIds(sent.filter((e) => inRange(e, at(0, 0), at(5, 0)))));
  });

  test("until ≤ since, bad times, unknown types and fields are 400; unknown webhook 404", async () => {
    const rx = await t.receiver();
    const app = t.track(await startSteppedApp());
    const wh = await createWebhook(app, rx.url);
    const replay = (body: unknown, id = wh.id) => app!.api("POST", `/webhooks/${id}/replay`, { body });

    for (const body of [
      { since: at(5, 0), until: at(5, 0) },
      { since: at(5, 0), until: at(4, 59) },
    ]) {
      const res = await replay(body);
      expect(res.status).toBe(400);
      expect((await errorBody(res)).errors[0]).toMatchObject({ field: "until" });
    }
    for (const [body, field] of [
      [{ since: "yesterday" }, "since"],
      [{ since: at(1, 0), until: "10:00" }, "until"],
      [{ since: at(1, 0), events: ["bounced"] }, "events"],
      [{ since: at(1, 0), events: [] }, "events"],
      [{ since: at(1, 0), from: at(0, 0) }, "from"],
      [{}, "since"],
    ] as const) {
      const res = await replay(body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      const err = await errorBody(res);
      expect(err.errors.map((e) => e.field ?? "").join(",")).toContain(field);
    }
    expect((await replay({ since: at(0, 0) }, "no-such-webhook")).status).toBe(404);
    // Nothing was queued by any of these.
    await app.after(3_600_000);
    expect(rx.requests).toHaveLength(0);
  });
});
