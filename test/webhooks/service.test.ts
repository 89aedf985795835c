// create, update, delete: what a webhook must be, checked on the whole of it, against a
// real store and a real receiver on 127.0.0.1.
import { describe, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { sampleEvent } from "../../src/events/samples.ts";
import { maxEventSeq } from "../../src/store/sqlite/events.ts";
import { webhookStatus } from "../../src/webhooks/model.ts";
import { createWebhook, deleteWebhook, getWebhook, listWebhooks, updateWebhook } from "../../src/webhooks/service.ts";
import { testResources } from "../helpers/hookd.ts";
import { harnesses, serviceError, T0 } from "./harness.ts";
import { sqliteOf } from "../../src/store/sqlite/driver.ts";
import { storeEvents } from "../helpers/store.ts";

const t = testResources();
const harness = harnesses();

describe("createWebhook", () => {
  test("test_post: the target takes a signed sample first; then the webhook is stored with its keys, from the newest event on", async () => {
    const h = harness();
    const rx = await t.receiver();
    await storeEvents(h.store, [sampleEvent("delivery", { host: "a", now: T0 }), sampleEvent("bounce", { host: "a", now: T0 })], "api");
    const { webhook, pending } = await createWebhook(h, { name: "w", target: `${rx.url}/in?k=v`, events: ["delivery"] });

    expect(pending).toBeNull();
    expect(rx.requests).toHaveLength(1);
    const req = rx.requests[0]!;
    expect(() => new Webhook(webhook.secret).verify(req.body, req.headers)).not.toThrow();
    expect((req.json() as { type: string; host: string }[]).map((e) => [e.type, e.host])).toEqual([["delivery", "hookd-test"]]);

    expect(await h.store.webhooks.get(webhook.id)).toEqual(webhook);
    expect(webhook).toMatchObject({
      active: true,
      authType: "none",
      format: "hookd",
      verification: "test_post",
      verificationState: null,
      verifiedAt: null,
      createdAt: T0,
    });
    expect(webhook.secret).toMatch(/^whsec_/);
    expect(webhook.signingPrivateKey && webhook.signingPublicKey).toBeTruthy();
    expect(webhook.cursorSeq).toBe(maxEventSeq(sqliteOf(h.store)));
    expect(webhook.cursorSeq).toBeGreaterThan(0);
    expect(webhookStatus(webhook)).toBe("active");
    expect(h.notified()).toBe(1);
    // The log names the target's origin only: a URL may carry credentials in its query.
    const line = h.logged().find((l) => l.msg === "webhook created")!;
    expect(line.target).toBe(rx.url);
  });

  test("test_post refused by the target: verification_failed naming the answer, nothing stored", async () => {
    const h = harness();
    const rx = await t.receiver();
    rx.respondWith({ status: 500 });
    const items = await serviceError(() => createWebhook(h, { name: "w", target: rx.url, events: ["*"] }));
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ field: "target", code: "verification_failed" });
    expect(items[0]!.message).toContain("500");
    expect(await h.store.webhooks.list()).toHaveLength(0);
    expect(h.notified()).toBe(0);
  });

  test("SparkPost's event names subscribe to hookd's; duplicates go; * means every type", async () => {
    const h = harness();
    const a = await createWebhook(h, {
      name: "a",
      target: "https://a.example/",
      events: ["initial_open", "open", "amp_click", "out_of_band"],
      verification: "none",
    });
    expect(a.webhook.events).toEqual(["open", "click", "out_of_band"]);
    const b = await createWebhook(h, { name: "b", target: "https://a.example/", events: ["delivery", "*"], verification: "none" });
    expect(b.webhook.events).toEqual(["*"]);
  });

  test("auth_type needs its credential: required, naming the field; nothing stored", async () => {
    const h = harness();
    for (const [auth_type, field] of [
      ["token", "auth_token"],
      ["basic", "auth_credentials"],
      ["oauth2", "auth_request_details"],
    ] as const) {
      const items = await serviceError(() =>
        createWebhook(h, { name: "w", target: "https://a.example/", events: ["*"], verification: "none", auth_type }),
      );
      expect(items).toEqual([{ field, code: "required", message: `${field} is required when auth_type is "${auth_type}"` }]);
    }
    expect(await h.store.webhooks.list()).toHaveLength(0);
  });

  test("a provider format with custom events is refused: the provider has none", async () => {
    const h = harness();
    const items = await serviceError(() =>
      createWebhook(h, { name: "w", target: "https://a.example/", events: ["custom"], format: "sendgrid", verification: "none" }),
    );
    expect(items[0]).toMatchObject({ field: "events", code: "invalid_value" });
    expect(
      (await createWebhook(h, { name: "w", target: "https://a.example/", events: ["custom"], verification: "none" })).webhook.format,
    ).toBe("hookd");
  });

  test("allow_private_targets = false: a private target or token URL is refused before anything is sent", async () => {
    const h = harness({ allowPrivateTargets: false });
    const rx = await t.receiver();
    const own = await serviceError(() => createWebhook(h, { name: "w", target: rx.url, events: ["*"] }));
    expect(own[0]).toMatchObject({ field: "target", code: "invalid_url" });
    expect(own[0]!.message).toContain("127.0.0.1");
    expect(rx.requests).toHaveLength(0);

    // IP literals: judged without a DNS lookup.
    const details = { url: `${rx.url}/token`, body: { client_id: "c", client_secret: "s" } };
    const token = await serviceError(() =>
      createWebhook(h, {
        name: "w",
        target: "https://93.184.216.34/",
        events: ["*"],
        verification: "none",
        auth_type: "oauth2",
        auth_request_details: details,
      }),
    );
    expect(token[0]).toMatchObject({ field: "auth_request_details.url", code: "invalid_url" });
    expect(await h.store.webhooks.list()).toHaveLength(0);
  });

  test("the credential check comes before the target check", async () => {
    const h = harness({ allowPrivateTargets: false });
    const items = await serviceError(() =>
      createWebhook(h, { name: "w", target: "http://127.0.0.1:9/", events: ["*"], verification: "none", auth_type: "token" }),
    );
    expect(items.map((i) => i.field)).toEqual(["auth_token"]);
  });
});

describe("updateWebhook", () => {
  test("only the fields given change; null sets a default back; the change is logged by field name", async () => {
    const h = harness();
    const { webhook } = await createWebhook(h, {
      name: "w",
      target: "https://a.example/",
      events: ["*"],
      verification: "none",
      batch_max_events: 10,
      filter: { hosts: ["mx1"] },
    });
    h.clock.ms = T0 + 1000;
    const saved = await updateWebhook(h, webhook.id, { name: "renamed", batch_max_events: null, active: false });
    expect(saved).toMatchObject({
      name: "renamed",
      batchMaxEvents: null,
      active: false,
      filter: { hosts: ["mx1"] },
      target: "https://a.example/",
      updatedAt: T0 + 1000,
      createdAt: T0,
    });
    expect(await h.store.webhooks.get(webhook.id)).toEqual(saved);
    expect(webhookStatus(saved)).toBe("inactive");
    expect(h.logged().find((l) => l.msg === "webhook updated")!.fields).toEqual(["name", "batch_max_events", "active"]);
  });

  test("judged with the stored fields: switching auth_type alone needs that credential", async () => {
    const h = harness();
    const { webhook } = await createWebhook(h, {
      name: "w",
      target: "https://a.example/",
      events: ["*"],
      verification: "none",
      auth_token: "t",
    });
    expect((await updateWebhook(h, webhook.id, { auth_type: "token" })).authType).toBe("token");
    const items = await serviceError(() => updateWebhook(h, webhook.id, { auth_type: "basic" }));
    expect(items[0]).toMatchObject({ field: "auth_credentials", code: "required" });
    expect((await h.store.webhooks.get(webhook.id))!.authType).toBe("token");
    const format = await serviceError(() => updateWebhook(h, webhook.id, { events: ["custom"], format: "sparkpost" }));
    expect(format[0]).toMatchObject({ field: "events", code: "invalid_value" });
  });

  test("test_post: a new target is tested first; refused, the old one stays", async () => {
    const h = harness();
    const a = await t.receiver();
    const b = await t.receiver();
    const { webhook } = await createWebhook(h, { name: "w", target: a.url, events: ["*"] });
    b.respondWith({ status: 503 });
    const items = await serviceError(() => updateWebhook(h, webhook.id, { target: `${b.url}/new` }));
    expect(items[0]).toMatchObject({ field: "target", code: "verification_failed" });
    expect(b.requests).toHaveLength(1);
    expect((await h.store.webhooks.get(webhook.id))!.target).toBe(a.url);

    b.respondWith({ status: 200 });
    expect((await updateWebhook(h, webhook.id, { target: `${b.url}/new` })).target).toBe(`${b.url}/new`);
    expect(b.requests).toHaveLength(2);
    expect(a.requests).toHaveLength(1); // the create's test POST only
  });

  test("changing how it verifies starts the proof again: to handshake, pending until completed", async () => {
    const h = harness();
    const rx = await t.receiver();
    const { webhook } = await createWebhook(h, { name: "w", target: rx.url, events: ["*"], verification: "none" });
    expect(rx.requests).toHaveLength(0);
    const saved = await updateWebhook(h, webhook.id, { verification: "handshake" });
    expect(rx.requests).toHaveLength(1);
    expect(saved.verificationState).toEqual({ callbackKey: expect.any(String), secretToken: expect.any(String) });
    expect(webhookStatus(saved)).toBe("pending_verification");
  });

  test("an unknown id: not_found naming it", async () => {
    const h = harness();
    const items = await serviceError(() => updateWebhook(h, "nope", { name: "x" }));
    expect(items).toEqual([{ message: 'no webhook with id "nope"', field: "id", code: "not_found" }]);
  });
});

describe("get, list, delete", () => {
  test("get and list read the store; delete removes the row, then not_found", async () => {
    const h = harness();
    const { webhook: a } = await createWebhook(h, { name: "a", target: "https://a.example/", events: ["*"], verification: "none" });
    h.clock.ms = T0 + 1;
    const { webhook: b } = await createWebhook(h, { name: "b", target: "https://b.example/", events: ["*"], verification: "none" });
    expect(await getWebhook(h, a.id)).toEqual(a);
    expect((await listWebhooks(h)).map((w) => w.name)).toEqual(["b", "a"]);
    await deleteWebhook(h, a.id);
    expect(await h.store.webhooks.get(a.id)).toBeUndefined();
    expect((await serviceError(() => getWebhook(h, a.id)))[0]!.code).toBe("not_found");
    expect((await serviceError(() => deleteWebhook(h, a.id)))[0]!.code).toBe("not_found");
    expect((await listWebhooks(h)).map((w) => w.id)).toEqual([b.id]);
  });
});
