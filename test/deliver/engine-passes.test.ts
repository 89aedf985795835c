// The engine's pass, one at a time: a pass that cannot commit records and claims nothing,
// and the attempts it would have recorded are recorded by the next one, once; stop() waits
// for the attempts in flight and records them; tick() refuses to race a running loop.
import { describe, expect, test } from "bun:test";
import { createWebhook, makeEvents, postEvents, startDeliveryApp, startSteppedApp, type SteppedApp } from "../helpers/delivery.ts";
import { testResources } from "../helpers/hookd.ts";
import { injectWriteFailure, sqlRow, sqlRows } from "../helpers/store-sql.ts";

const t = testResources();

const count = async (app: SteppedApp, sql: string, ...args: string[]) => (await sqlRow<{ n: number }>(app.hookd.store, sql, ...args))!.n;
const batchState = (app: SteppedApp, webhookId: string) =>
  sqlRows<{ state: string; attempts: number; lease_token: string | null }>(
    app.hookd.store,
    "SELECT state, attempts, lease_token FROM batches WHERE webhook_id = ?",
    webhookId,
  );

describe("engine passes", () => {
  test("a pass that cannot commit records nothing; the next pass records its attempts, each once", async () => {
    const rx = await t.receiver();
    const app = t.track(await startSteppedApp({ config: { delivery: { batch_max_wait: 0 } } }));
    const wh = await createWebhook(app, rx.url);
    await postEvents(app, makeEvents(3, "busy"));
    expect((await app.engine.tick()).claimed).toBe(1);
    await app.engine.settle();
    expect(rx.requests).toHaveLength(1);

    // Every write of a batch fails (a full disk, a database gone): the pass's transaction cannot commit.
    const failing = await injectWriteFailure(app.hookd.store, "batches", "UPDATE");
    await expect(app.engine.tick()).rejects.toThrow(/injected failure/);
    await failing.clear();
    // Still claimed and unrecorded: the answer waits in the engine, not in the store.
    expect(await batchState(app, wh.id)).toEqual([{ state: "pending", attempts: 1, lease_token: expect.any(String) }]);
    expect(await count(app, "SELECT CAST(count(*) AS INTEGER) AS n FROM attempts WHERE webhook_id = ?", wh.id)).toBe(0);

    const next = await app.engine.tick();
    expect(next).toMatchObject({ recorded: 1, claimed: 0 });
    expect(await batchState(app, wh.id)).toEqual([{ state: "delivered", attempts: 1, lease_token: null }]);
    expect(await count(app, "SELECT CAST(count(*) AS INTEGER) AS n FROM attempts WHERE webhook_id = ?", wh.id)).toBe(1);
  });

  test("stop() waits for the attempt in flight and records it", async () => {
    const rx = await t.receiver();
    let answer = () => {};
    const answered = new Promise<void>((resolve) => (answer = resolve));
    rx.respondWith(async () => {
      await answered;
      return { status: 200 };
    });
    const app = t.track(await startSteppedApp({ config: { delivery: { batch_max_wait: 0 } } }));
    t.defer(answer); // before the app stops (which waits for its attempts), should the test fail early
    const wh = await createWebhook(app, rx.url);
    await postEvents(app, makeEvents(1, "drain"));
    expect((await app.engine.tick()).claimed).toBe(1);
    await rx.waitFor((rs) => rs.length === 1, 5000);

    let stopped = false;
    const stopping = app.engine.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    // The receiver still holds its answer, so the attempt cannot have ended: stop() waits…
    expect(stopped).toBe(false);
    answer();
    await stopping;
    // …and once it is given, stop() has recorded it before returning.
    expect(await batchState(app, wh.id)).toEqual([{ state: "delivered", attempts: 1, lease_token: null }]);
  });

  test("tick() on an engine whose loop runs is refused", async () => {
    const app = t.track(await startDeliveryApp());
    await expect(app.hookd.engine.tick()).rejects.toThrow(/loop is running/);
  });
});
