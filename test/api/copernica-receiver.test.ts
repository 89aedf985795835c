// A receiver written for Copernica's webhooks, over real HTTP, fed through POST /events: one
// event per request, form-encoded, Copernica's variables, in order; Copernica's one webhook per
// type (profile creations, updates, removals) each get only theirs. The engine is stepped: what
// was not sent when deliver() returns is not going to be.
import { afterEach, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { createWebhook, postEvents, results, startSteppedApp, type EventIn, type SteppedApp } from "../helpers/delivery.ts";
import { errorBody } from "../helpers/hookd.ts";
import { startReceiver, type Receiver, type RecordedRequest } from "../helpers/receiver.ts";

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

// Standard Webhooks' check (the standardwebhooks package parses the body as JSON, which a form is not).
const standardSignature = (secret: string, r: RecordedRequest) =>
  "v1," +
  createHmac("sha256", Buffer.from(secret.slice("whsec_".length), "base64"))
    .update(`${r.headers["webhook-id"]}.${r.headers["webhook-timestamp"]}.${r.body}`)
    .digest("base64");

/** A Copernica receiver's view of one request: its variables (PHP's $_POST reads the same). */
const form = (r: RecordedRequest) => new URLSearchParams(r.body);
const at = (rx: Receiver, path: string) => rx.requests.filter((r) => r.path === path);

const PROFILE_TYPES = ["profile.created", "profile.updated", "profile.deleted"];
const profile = (custom_type: string, id: number, fields: Record<string, string> = {}): EventIn => ({
  type: "custom",
  event_id: `${custom_type}-${id}`,
  custom_type,
  data: { profile: id, database: 1, fields },
});

describe("copernica format over HTTP", () => {
  test("three webhooks on profile.created / profile.updated / profile.deleted each get only theirs, one per request, in order", async () => {
    const rx = await receiver();
    app = await startSteppedApp({
      config: { delivery: { batch_max_wait: 0 }, events: { custom_types: [...PROFILE_TYPES, "order.shipped"] } },
    });
    const hooks: Record<string, { id: string; secret: string }> = {};
    for (const t of PROFILE_TYPES) hooks[t] = await createWebhook(app, `${rx.url}/${t}`, { format: "copernica", events: [t] });

    const sent = [
      profile("profile.created", 1, { name: "Ann", city: "Oslo" }),
      profile("profile.updated", 1, { city: "Bergen" }),
      { type: "custom", event_id: "order-1", custom_type: "order.shipped", data: { order: 9 } },
      profile("profile.created", 2, { name: "Bo" }),
      profile("profile.deleted", 1),
      { type: "delivery", event_id: "d-1", rcpt_to: "ann@example.org" },
      profile("profile.updated", 2, { name: "Bob" }),
    ];
    await postEvents(app, sent);
    await app.deliver();

    const want: Record<string, [string, string][]> = {
      "profile.created": [
        ["create", "1"],
        ["create", "2"],
      ],
      "profile.updated": [
        ["update", "1"],
        ["update", "2"],
      ],
      "profile.deleted": [["delete", "1"]],
    };
    for (const t of PROFILE_TYPES) {
      const got = at(rx, `/${t}`);
      expect(
        got.map((r) => [form(r).get("type"), form(r).get("profile")]),
        t,
      ).toEqual(want[t]!);
      for (const r of got) {
        expect(r.headers["content-type"]).toBe("application/x-www-form-urlencoded");
        expect(form(r).getAll("type")).toHaveLength(1); // one event per request
        // Copernica's signature cannot be made (its key is in Copernica's DNS); Standard Webhooks' is there.
        expect(r.headers["webhook-signature"]).toBe(standardSignature(hooks[t]!.secret, r));
      }
    }
    const created = form(at(rx, "/profile.created")[0]!);
    expect(Object.fromEntries(created)).toMatchObject({
      type: "create",
      profile: "1",
      database: "1",
      "fields[name]": "Ann",
      "fields[city]": "Oslo",
    });
    expect(created.get("time")).toMatch(/^\d+$/);
    expect(created.get("timestamp")).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  test("mail events: one request each, in the order they happened, whatever batch_max_events says; types Copernica has no call for are left out", async () => {
    const rx = await receiver();
    app = await startSteppedApp({ config: { delivery: { batch_max_wait: 0 } } });
    await createWebhook(app, `${rx.url}/mail`, { format: "copernica", events: ["*"], batch_max_events: 500 });
    const sent: EventIn[] = [];
    for (let i = 0; i < 12; i++) {
      const type = ["delivery", "open", "delay", "click", "bounce", "list_unsubscribe"][i % 6]!;
      const e: EventIn = { type, event_id: `m-${i}`, message_id: `msg-${i}@example.com`, rcpt_to: `u${i}@example.org`, tags: ["spring"] };
      if (type === "click") Object.assign(e, { url: `https://example.com/${i}`, ip: "198.51.100.7", user_agent: "Mozilla/5.0" });
      if (type === "bounce") Object.assign(e, { dsn: "5.1.1", response: "550 5.1.1 User unknown (in reply to RCPT TO command)" });
      sent.push(e);
    }
    await postEvents(app, sent);
    await app.deliver();

    const carried = sent.filter((e) => e.type !== "delay" && e.type !== "list_unsubscribe");
    const got = rx.requests.map(form);
    expect(got.map((f) => f.get("id"))).toEqual(carried.map((e) => e.message_id as string));
    expect(got.map((f) => f.get("type"))).toEqual(
      carried.map((e) => ({ delivery: "delivery", open: "open", click: "click", bounce: "failure" })[e.type]!),
    );
    for (const f of got) {
      expect(f.getAll("id")).toHaveLength(1);
      expect(f.getAll("tags[]")).toEqual(["spring"]);
    }
    const click = got.find((f) => f.get("type") === "click")!;
    expect(Object.fromEntries(click)).toMatchObject({
      recipient: "u3@example.org",
      ip: "198.51.100.7",
      useragent: "Mozilla/5.0",
      original: "https://example.com/3",
    });
    expect(got.find((f) => f.get("type") === "failure")!.get("state")).toBe("rcptto");
    // Each request its own batch: batch-status lists one event each.
    expect(new Set(rx.requests.map((r) => r.headers["webhook-id"])).size).toBe(carried.length);
  });
  test("a failed request holds the ones after it back: the order is kept across a retry", async () => {
    const rx = await receiver();
    rx.respondWith([{ status: 200 }, { status: 503 }]);
    app = await startSteppedApp({ config: { delivery: { batch_max_wait: 0 } } });
    await createWebhook(app, `${rx.url}/mail`, { format: "copernica", events: ["delivery"] });
    const sent = [0, 1, 2, 3].map(
      (i): EventIn => ({ type: "delivery", event_id: `d-${i}`, message_id: `m${i}@example.com`, rcpt_to: "a@example.org" }),
    );
    await postEvents(app, sent);
    await app.deliver();
    // The second failed; the third and fourth wait behind it.
    expect(rx.requests.map((r) => form(r).get("id"))).toEqual(["m0@example.com", "m1@example.com"]);
    await app.after(60_000);
    expect(rx.requests.map((r) => form(r).get("id"))).toEqual([
      "m0@example.com",
      "m1@example.com",
      "m1@example.com",
      "m2@example.com",
      "m3@example.com",
    ]);
  });
});

describe("subscribing to custom events by name", () => {
  test("hookd format: a name gets only that name, custom gets every custom event", async () => {
    const rx = await receiver();
    app = await startSteppedApp({ config: { delivery: { batch_max_wait: 0 }, events: { custom_types: ["profile.created"] } } });
    // order.shipped is not declared: seen once it was posted.
    await postEvents(app, [{ type: "custom", event_id: "o-0", custom_type: "order.shipped" }]);
    await createWebhook(app, `${rx.url}/created`, { events: ["profile.created"] });
    await createWebhook(app, `${rx.url}/shipped`, { events: ["order.shipped", "delivery"] });
    await createWebhook(app, `${rx.url}/custom`, { events: ["custom"] });
    await postEvents(app, [
      profile("profile.created", 1),
      { type: "custom", event_id: "o-1", custom_type: "order.shipped" },
      { type: "delivery", event_id: "d-1", rcpt_to: "a@example.org" },
      profile("profile.created", 2),
    ]);
    await app.deliver();
    const idsAt = (p: string) => at(rx, p).flatMap((r) => (r.json() as { event_id: string }[]).map((e) => e.event_id));
    expect(idsAt("/created")).toEqual(["profile.created-1", "profile.created-2"]);
    expect(idsAt("/shipped")).toEqual(["o-1", "d-1"]);
    expect(idsAt("/custom")).toEqual(["profile.created-1", "o-1", "profile.created-2"]);
  });

  test("a name neither declared nor seen is a 400 naming it; formats without the name are refused", async () => {
    const rx = await receiver();
    app = await startSteppedApp({ config: { events: { custom_types: ["profile.created"] } } });
    const create = (fields: Record<string, unknown>) =>
      app!.api("POST", "/webhooks", { body: { name: "t", target: rx.url, verification: "none", ...fields } });

    const unknown = await create({ events: ["profile.created", "profile.craeted"] });
    expect(unknown.status).toBe(400);
    const errs = (await errorBody(unknown)).errors;
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ field: "events[1]", code: "invalid_value" });
    expect(errs[0]!.message).toContain('"profile.craeted"');

    const bad = await create({ events: ["Profile Created"] });
    expect(bad.status).toBe(400);
    expect((await errorBody(bad)).errors[0]!.field).toBe("events[0]");

    for (const format of ["sendgrid", "sparkpost", "sfmc"]) {
      const r = await create({ format, events: ["profile.created"] });
      expect(r.status, format).toBe(400);
      expect((await errorBody(r)).errors[0]!.message).toContain(`format "${format}" has no custom events`);
    }
    await postEvents(app, [{ type: "custom", event_id: "o-1", custom_type: "order.shipped" }]);
    const copernica = await create({ format: "copernica", events: ["order.shipped"] });
    expect(copernica.status).toBe(400);
    expect((await errorBody(copernica)).errors[0]!.message).toContain('no call for "order.shipped"');

    // Declared, and seen: both accepted; "custom" swallows names beside it.
    const ok = await results<{ id: string }>(create({ events: ["profile.created", "order.shipped"] }), 201);
    const both = await results<{ id: string }>(create({ events: ["custom", "order.shipped"] }), 201);
    expect((await results<{ events: string[] }>(app.api("GET", `/webhooks/${ok.id}`))).events).toEqual([
      "profile.created",
      "order.shipped",
    ]);
    expect((await results<{ events: string[] }>(app.api("GET", `/webhooks/${both.id}`))).events).toEqual(["custom"]);
    // A change is judged the same way: a new unknown name is refused, naming its place.
    const patch = await app.api("PATCH", `/webhooks/${ok.id}`, { body: { events: ["profile.created", "nope.x"] } });
    expect(patch.status).toBe(400);
    expect((await errorBody(patch)).errors[0]).toMatchObject({ field: "events[1]", code: "invalid_value" });
  });
});
