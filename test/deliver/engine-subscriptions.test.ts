// What a webhook gets: only its event types and filter matches; nothing while paused and
// everything queued once resumed; nothing at all after it is deleted. The engine is stepped
// by the test: when deliver() returns, what was not sent is not going to be.
import { afterEach, describe, expect, test } from "bun:test";
import {
  batchRequests,
  createWebhook,
  getWebhook,
  ids,
  makeEvents,
  postEvents,
  receivedIds,
  results,
  startSteppedApp,
  type EventIn,
  type SteppedApp,
  type WebhookInfo,
} from "../helpers/delivery.ts";
import { startReceiver, type Receiver } from "../helpers/receiver.ts";
import { sqlRow } from "../helpers/store-sql.ts";

let app: SteppedApp | null = null;
const receivers: Receiver[] = [];
afterEach(async () => {
  await app?.stop();
  app = null;
  for (const r of receivers.splice(0)) await r.stop();
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

// Mixed types and recipient domains, in one known order.
function mixedEvents(prefix: string): EventIn[] {
  const out: EventIn[] = [];
  for (let i = 0; i < 24; i++) {
    const type = ["delivery", "bounce", "delay"][i % 3]!;
    const domain = i % 4 < 2 ? "a.example" : "b.example";
    out.push({ type, event_id: `${prefix}-${i}`, rcpt_to: `u${i}@${domain}`, mail_from: "news@sender.example" });
  }
  return out;
}

const domainOf = (e: EventIn) => e.rcpt_to!.split("@")[1];

describe("subscriptions and filters", () => {
  test('a bounce-only webhook gets only bounces; a rcpt_domains filter only those recipients; "*" everything', async () => {
    const rx = await receiver();
    app = await startSteppedApp({ config: { delivery: { batch_max_wait: 50 } } });
    await createWebhook(app, `${rx.url}/bounces`, { events: ["bounce"] });
    await createWebhook(app, `${rx.url}/domain-a`, { filter: { rcpt_domains: ["A.example"] } });
    await createWebhook(app, `${rx.url}/bounces-b`, { events: ["bounce"], filter: { rcpt_domains: ["b.example"] } });
    await createWebhook(app, `${rx.url}/all`);

    const sent = mixedEvents("sub");
    await postEvents(app, sent);
    const want = {
      "/bounces": sent.filter((e) => e.type === "bounce"),
      "/domain-a": sent.filter((e) => domainOf(e) === "a.example"),
      "/bounces-b": sent.filter((e) => e.type === "bounce" && domainOf(e) === "b.example"),
      "/all": sent,
    };
    await app.after(100);
    for (const [path, evs] of Object.entries(want)) {
      expect(evs.length).toBeGreaterThan(0);
      expect({ path, ids: receivedIds(batchRequests(rx.requests, path)) }).toEqual({ path, ids: ids(evs) });
    }
  });

  test("active:false pauses delivery; active:true sends everything queued meanwhile, in order", async () => {
    const rx = await receiver();
    app = await startSteppedApp({ config: { delivery: { batch_max_wait: 50, batch_max_events: 5 } } });
    const paused = await createWebhook(app, `${rx.url}/paused`, { active: false });
    await createWebhook(app, `${rx.url}/control`);
    expect((await getWebhook(app, paused.id)).status).toBe("inactive");

    const sent = makeEvents(23, "pause");
    await postEvents(app, sent.slice(0, 10));
    await postEvents(app, sent.slice(10));
    await app.after(100);
    // The control webhook proves the engine ran through these events.
    expect(receivedIds(batchRequests(rx.requests, "/control"))).toEqual(ids(sent));
    expect(batchRequests(rx.requests, "/paused")).toHaveLength(0);
    const waiting = await getWebhook(app, paused.id);
    expect(waiting.queue_depth).toBe(sent.length);

    const resumed = await results<WebhookInfo>(app.api("PATCH", `/webhooks/${paused.id}`, { body: { active: true } }));
    expect(resumed.status).toBe("active");
    await app.deliver();
    expect(receivedIds(batchRequests(rx.requests, "/paused"))).toEqual(ids(sent));
    expect((await getWebhook(app, paused.id)).queue_depth).toBe(0);
  });

  test("pausing a webhook mid-stream holds the rest until it is resumed", async () => {
    const rx = await receiver();
    app = await startSteppedApp({ config: { delivery: { batch_max_wait: 50 } } });
    const wh = await createWebhook(app, rx.url);
    const first = makeEvents(4, "mid-a");
    await postEvents(app, first);
    await app.after(100);
    expect(receivedIds(rx.requests)).toEqual(ids(first));

    await results(app.api("PATCH", `/webhooks/${wh.id}`, { body: { active: false } }));
    const second = makeEvents(4, "mid-b");
    await postEvents(app, second);
    await app.after(60_000);
    expect(receivedIds(rx.requests)).toEqual(ids(first));

    await results(app.api("PUT", `/webhooks/${wh.id}`, { body: { active: true } }));
    await app.deliver();
    expect(receivedIds(rx.requests)).toEqual([...ids(first), ...ids(second)]);
  });

  test("DELETE drops the webhook's queued batches and nothing more is sent to it", async () => {
    // Both webhooks target a receiver that is down, so their batches queue up.
    const rx = await receiver();
    await rx.close();
    app = await startSteppedApp({ config: { delivery: { batch_max_wait: 50, batch_max_events: 5 } } });
    const doomed = await createWebhook(app, `${rx.url}/doomed`);
    const kept = await createWebhook(app, `${rx.url}/kept`);
    const sent = makeEvents(12, "del");
    await postEvents(app, sent);

    const batchRows = async (id: string) =>
      (await sqlRow<{ n: number }>(app!.hookd.store, "SELECT CAST(count(*) AS INTEGER) AS n FROM batches WHERE webhook_id = ?", id))!.n;
    const attemptRows = async (id: string) =>
      (await sqlRow<{ n: number }>(app!.hookd.store, "SELECT CAST(count(*) AS INTEGER) AS n FROM attempts WHERE webhook_id = ?", id))!.n;
    await app.after(100);
    expect(await batchRows(doomed.id)).toBeGreaterThanOrEqual(2);
    expect((await getWebhook(app, doomed.id)).last_failure).not.toBeNull();
    expect(await attemptRows(doomed.id)).toBeGreaterThan(0);

    const del = await app.api("DELETE", `/webhooks/${doomed.id}`);
    expect(del.status).toBe(204);
    expect(await batchRows(doomed.id)).toBe(0);
    expect(await attemptRows(doomed.id)).toBe(0);
    expect((await app.api("GET", `/webhooks/${doomed.id}`)).status).toBe(404);

    // Back up: the kept webhook gets everything (FAST_RETRY waits at most 500 ms); the
    // deleted one nothing, though the fast retry policy would have retried it many times over.
    await rx.restart();
    await app.after(500);
    await app.after(3_600_000);
    expect(receivedIds(batchRequests(rx.requests, "/kept"))).toEqual(ids(sent));
    expect(rx.requests.filter((r) => r.path === "/doomed")).toHaveLength(0);
    expect(await batchRows(doomed.id)).toBe(0);
    expect(await batchRows(kept.id)).toBeGreaterThan(0);
  });
});
