// The secrets' lifecycle and what an operator does to deliveries: rotate, signing key,
// test send, retry, replay.
import { describe, expect, test } from "bun:test";
import { sampleEvent } from "../../src/events/samples.ts";
import { insertEvents } from "../../src/store/sqlite/events.ts";
import { replay, retryDead, sendTest } from "../../src/webhooks/actions.ts";
import { ROTATION_OVERLAP_MS, rotateSecret, signingPublicKey } from "../../src/webhooks/secrets.ts";
import { createWebhook } from "../../src/webhooks/service.ts";
import { testResources } from "../helpers/hookd.ts";
import { harnesses, serviceError, T0 } from "./harness.ts";
import { sqliteOf } from "../../src/store/sqlite/driver.ts";
import { storeEvents } from "../helpers/store.ts";

const t = testResources();
const harness = harnesses();

const quiet = { target: "https://a.example/", verification: "none" } as const;

describe("secrets", () => {
  test("rotateSecret: a new secret; the old one keeps signing for the overlap", async () => {
    const h = harness();
    const { webhook } = await createWebhook(h, { name: "w", events: ["*"], ...quiet });
    h.clock.ms = T0 + 60_000;
    const r = await rotateSecret(h, webhook.id);
    expect(r.secret).toMatch(/^whsec_/);
    expect(r.secret).not.toBe(webhook.secret);
    expect(r.previousSecretUntil).toBe(T0 + 60_000 + ROTATION_OVERLAP_MS);
    expect(await h.store.webhooks.get(webhook.id)).toMatchObject({
      secret: r.secret,
      previousSecret: webhook.secret,
      previousSecretUntil: r.previousSecretUntil,
    });
  });

  test("signingPublicKey: the stored key; a webhook from before keys existed gets a pair on first ask, then keeps it", async () => {
    const h = harness();
    const { webhook } = await createWebhook(h, { name: "w", events: ["*"], ...quiet });
    expect(await signingPublicKey(h, webhook.id)).toBe(webhook.signingPublicKey!);

    const old = await h.store.webhooks.insert({
      id: "old",
      name: "old",
      target: "https://a.example/",
      events: ["*"],
      secret: webhook.secret,
      createdAt: T0,
      updatedAt: T0,
    });
    expect(old.signingPublicKey).toBeNull();
    const key = await signingPublicKey(h, "old");
    expect(key.length).toBeGreaterThan(60);
    expect((await h.store.webhooks.get("old"))!.signingPrivateKey).toBeTruthy();
    expect(await signingPublicKey(h, "old")).toBe(key);
    expect((await serviceError(() => signingPublicKey(h, "nope")))[0]!.code).toBe("not_found");
  });
});

describe("sendTest", () => {
  test("samples of the first subscribed types, from this host; or the given message as it is", async () => {
    const h = harness();
    const rx = await t.receiver();
    const { webhook } = await createWebhook(h, { name: "w", target: rx.url, events: ["bounce", "delivery"], verification: "none" });
    const result = await sendTest(h, webhook.id);
    expect(result).toMatchObject({ kind: "response", status: 200 });
    expect((rx.requests[0]!.json() as { type: string; host: string }[]).map((e) => [e.type, e.host])).toEqual([
      ["bounce", "mx.test"],
      ["delivery", "mx.test"],
    ]);

    const message = { msys: { message_event: { type: "delivery" } } };
    await sendTest(h, webhook.id, { message });
    expect(rx.requests[1]!.json()).toEqual(message);
  });
});

describe("retryDead and replay", () => {
  test("retryDead queues dead batches again, now, and wakes delivery", async () => {
    const h = harness();
    const { webhook } = await createWebhook(h, { name: "w", events: ["*"], ...quiet });
    await storeEvents(h.store, [sampleEvent("delivery", { host: "a", now: T0 })], "api");
    expect(await replay(h, webhook.id, { since: T0 - 1000 })).toEqual({ batches: 1, events: 1 });
    sqliteOf(h.store).run("UPDATE batches SET state = 'dead'");
    h.clock.ms = T0 + 10_000;
    const before = h.notified();
    expect(await retryDead(h, webhook.id)).toBe(1);
    expect(h.notified()).toBe(before + 1);
    const row = sqliteOf(h.store).query("SELECT state, next_attempt_at AS next FROM batches").get() as { state: string; next: number };
    expect(row).toEqual({ state: "pending", next: T0 + 10_000 });
    expect(await retryDead(h, webhook.id)).toBe(0);
  });

  test("replay: events of [since, until) the webhook subscribes to, optionally some types only", async () => {
    const h = harness();
    const { webhook } = await createWebhook(h, { name: "w", events: ["delivery", "bounce"], ...quiet });
    insertEvents(
      sqliteOf(h.store),
      [
        sampleEvent("delivery", { host: "a", now: T0 - 5000, index: 1 }),
        sampleEvent("bounce", { host: "a", now: T0 - 4000, index: 2 }),
        sampleEvent("open", { host: "a", now: T0 - 3000, index: 3 }),
        sampleEvent("delivery", { host: "a", now: T0, index: 4 }),
      ],
      "api",
    );
    expect(await replay(h, webhook.id, { since: T0 - 5000, until: T0 })).toEqual({ batches: 1, events: 2 });
    expect(await replay(h, webhook.id, { since: T0 - 5000, types: ["delivery"] })).toEqual({ batches: 1, events: 2 });
  });

  test("replay: until must come after since", async () => {
    const h = harness();
    const { webhook } = await createWebhook(h, { name: "w", events: ["*"], ...quiet });
    const items = await serviceError(() => replay(h, webhook.id, { since: T0, until: T0 }));
    expect(items).toEqual([{ message: "until: must be after since", field: "until", code: "invalid_value" }]);
  });
});
