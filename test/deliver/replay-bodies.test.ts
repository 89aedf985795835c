// Replays to a receiver that does not take them used to store every replay's events again
// (10 replays of 40,000 events: 28 → 203 MB). The same events for the same subscription and
// format make the same bytes: a replay now references the bodies an earlier replay stored
// (refcounted), and they are freed with their last batch.
import { expect, test } from "bun:test";
import { batchStatus, createWebhook, makeEvents, results } from "../helpers/delivery.ts";
import { testResources, type TestApp } from "../helpers/hookd.ts";
import { sqlRows } from "../helpers/store-sql.ts";

const t = testResources();

type Body = { id: number; refs: number; bytes: number };

/** Every stored body, in id order (the webhooks come after the events: no live batches). */
function replayBodies(app: TestApp): Promise<Body[]> {
  return sqlRows<Body>(app.hookd.store, "SELECT CAST(id AS INTEGER) AS id, refs, length(body) AS bytes FROM batch_bodies ORDER BY id");
}

test("repeated replays of one range share the first replay's bodies; other formats and ranges get their own; the last batch frees them", async () => {
  const app = await t.app({ delivery: { batch_max_events: 100 } });
  const deliveries = makeEvents(250, "rb", { metadata: { note: "n".repeat(300) } });
  const bounces = makeEvents(50, "bn", { type: "bounce", bounce_class: "hard" });
  await results(app.api("POST", "/events", { body: [...deliveries, ...bounces] }));
  // Nothing listens on port 9: replayed batches wait.
  const a = await createWebhook(app, "http://127.0.0.1:9/a");
  const since = new Date(Date.now() - 3_600_000).toISOString();
  const replay = (id: string, body: Record<string, unknown> = {}) =>
    results<{ batches: number; events: number }>(app.api("POST", `/webhooks/${id}/replay`, { body: { since, ...body } }));

  expect(await replay(a.id)).toEqual({ batches: 3, events: 300 });
  const first = await replayBodies(app);
  expect(first.map((b) => b.refs)).toEqual([1, 1, 1]);
  for (let i = 0; i < 4; i++) expect(await replay(a.id)).toEqual({ batches: 3, events: 300 });
  // Five replays, fifteen batches, the same three bodies.
  expect(await replayBodies(app)).toEqual(first.map((b) => ({ ...b, refs: 5 })));
  expect((await batchStatus(app, a.id, "?limit=100")).filter((b) => b.kind === "replay")).toHaveLength(15);

  // Another webhook with the same subscription and format: the same bytes, shared too.
  const b = await createWebhook(app, "http://127.0.0.1:9/b");
  await replay(b.id);
  expect((await replayBodies(app)).map((x) => x.refs)).toEqual([6, 6, 6]);

  // Another format: other bytes, bodies of its own.
  const sg = await createWebhook(app, "http://127.0.0.1:9/sg", { format: "sendgrid" });
  await replay(sg.id);
  expect((await replayBodies(app)).map((x) => x.refs)).toEqual([6, 6, 6, 1, 1, 1]);
  // Deliveries only: the first 200 events are the same (the bounces came last), so the first
  // two batches are the same bytes and shared; the third (deliveries 201–250) is new.
  expect(await replay(a.id, { events: ["delivery"] })).toEqual({ batches: 3, events: 250 });
  expect((await replayBodies(app)).map((x) => x.refs)).toEqual([7, 7, 6, 1, 1, 1, 1]);

  // Deleting a webhook releases its references; the bodies go with their last batch.
  expect((await app.api("DELETE", `/webhooks/${a.id}`)).status).toBe(204);
  expect((await replayBodies(app)).map((x) => x.refs)).toEqual([1, 1, 1, 1, 1, 1]);
  expect((await app.api("DELETE", `/webhooks/${b.id}`)).status).toBe(204);
  expect(await replayBodies(app)).toHaveLength(3);
  expect((await app.api("DELETE", `/webhooks/${sg.id}`)).status).toBe(204);
  expect(await replayBodies(app)).toEqual([]);
});

test("a replay sharing a body delivers the same bytes, each batch under its own webhook-id", async () => {
  const rx = await t.receiver();
  const app = await t.app({ delivery: { batch_max_wait: 20 } });
  await results(app.api("POST", "/events", { body: makeEvents(40, "same") }));
  const wh = await createWebhook(app, `${rx.url}/r`);
  const since = new Date(Date.now() - 3_600_000).toISOString();
  for (let i = 0; i < 2; i++) await results(app.api("POST", `/webhooks/${wh.id}/replay`, { body: { since } }));
  const got = await rx.waitFor((r) => r.length >= 2, 10_000);
  expect(await replayBodies(app)).toHaveLength(1);
  expect(got[0]!.body).toBe(got[1]!.body);
  expect(got[0]!.headers["webhook-id"]).not.toBe(got[1]!.headers["webhook-id"]);
  expect((JSON.parse(got[0]!.body) as unknown[]).length).toBe(40);
});
