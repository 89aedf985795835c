// Webhooks made through SendGrid's API are hookd webhooks in `sendgrid` format: their
// events reach a real receiver in SendGrid's body, ECDSA-signed when the signed endpoint
// turned signing on (verified with @sendgrid/eventwebhook and the public_key that endpoint
// returned), unsigned when it is off. hookd's API and SendGrid's see the same webhooks.
import { describe, expect, test } from "bun:test";
import { EventWebhook } from "@sendgrid/eventwebhook";
import { eventsOf } from "../helpers/delivery.ts";
import { testResources, type TestApp } from "../helpers/hookd.ts";
import type { RecordedRequest } from "../helpers/receiver.ts";
import { sendGridErrors, sg } from "./sendgrid-helpers.ts";

const SETTINGS = "/v3/user/webhooks/event/settings";
const SIG = "x-twilio-email-event-webhook-signature";
const TS = "x-twilio-email-event-webhook-timestamp";

const res = testResources();

async function json<T = Record<string, unknown>>(r: Response | Promise<Response>, status: number): Promise<T> {
  const got = await r;
  const text = await got.text();
  expect(`${got.status} ${text}`).toStartWith(`${status} `);
  return JSON.parse(text) as T;
}

function verifies(publicKey: string, req: RecordedRequest): boolean {
  const ew = new EventWebhook();
  return ew.verifySignature(ew.convertPublicKeyToECDSA(publicKey), req.body, req.headers[SIG]!, req.headers[TS]!);
}

async function postEvents(app: TestApp, events: Record<string, unknown>[]) {
  const r = await app.api("POST", "/events", { body: events });
  expect(r.status).toBe(200);
}

describe("delivery to a webhook made through SendGrid's API", () => {
  test("signed on: SendGrid's body, verified with @sendgrid/eventwebhook and the PATCH's public_key; signed off: no signature headers", async () => {
    const app = await res.app({ delivery: { batch_max_wait: 50 } });
    const rx = await res.receiver();
    const created = await json<{ id: string }>(
      sg(app, "POST", SETTINGS, { url: `${rx.url}/events`, enabled: true, delivered: true, bounce: true }),
      201,
    );
    const { public_key } = await json<{ public_key: string }>(sg(app, "PATCH", `${SETTINGS}/signed/${created.id}`, { enabled: true }), 200);

    await postEvents(app, [
      { type: "delivery", event_id: "sg-d-1", rcpt_to: "ann@example.org", message_id: "m1@example.com" },
      { type: "open", event_id: "sg-o-1", rcpt_to: "ann@example.org" },
      { type: "bounce", event_id: "sg-b-1", rcpt_to: "bob@example.org", bounce_class: "unknown_user", dsn: "5.1.1" },
    ]);
    const [signed] = await rx.waitFor((r) => r.some((q) => eventsOf(q).some((e) => e.sg_event_id === "sg-b-1")));
    expect(signed!.path).toBe("/events");
    expect(verifies(public_key, signed!)).toBe(true);
    // Subscribed to delivered and bounce only: the open is not sent.
    const events = rx.requests.flatMap(eventsOf);
    expect(events.map((e) => [e.event, e.sg_event_id, e.email])).toEqual([
      ["delivered", "sg-d-1", "ann@example.org"],
      ["bounce", "sg-b-1", "bob@example.org"],
    ]);
    // A tampered body does not verify with that key.
    expect(verifies(public_key, { ...signed!, body: signed!.body.replace("ann@", "eve@") })).toBe(false);

    const off = await json(sg(app, "PATCH", `${SETTINGS}/signed/${created.id}`, { enabled: false }), 200);
    expect(off).toEqual({ id: created.id, public_key: "" });
    await postEvents(app, [{ type: "delivery", event_id: "sg-d-2", rcpt_to: "cy@example.org" }]);
    const [, unsigned] = await rx.waitFor((r) => r.length >= 2);
    expect(eventsOf(unsigned!).map((e) => e.sg_event_id)).toEqual(["sg-d-2"]);
    expect(unsigned!.headers[SIG]).toBeUndefined();
    expect(unsigned!.headers[TS]).toBeUndefined();
    // hookd's own Standard Webhooks signature stays on every request.
    expect(unsigned!.headers["webhook-signature"]).toStartWith("v1,");
  });

  test("enabled false: nothing is sent until a PATCH enables it", async () => {
    const app = await res.app({ delivery: { batch_max_wait: 50 } });
    const rx = await res.receiver();
    const created = await json<{ id: string }>(sg(app, "POST", SETTINGS, { url: `${rx.url}/later`, delivered: true }), 201);
    await postEvents(app, [{ type: "delivery", event_id: "sg-paused-1", rcpt_to: "ann@example.org" }]);
    // Read the webhook's queue through hookd's API: the event waits for it.
    const view = await json<{ results: { active: boolean; queue_depth: number } }>(app.api("GET", `/webhooks/${created.id}`), 200);
    expect(view.results).toMatchObject({ active: false, queue_depth: 1 });
    expect(rx.requests).toHaveLength(0);
    await json(sg(app, "PATCH", `${SETTINGS}/${created.id}`, { url: `${rx.url}/later`, enabled: true }), 200);
    const [got] = await rx.waitFor((r) => r.length === 1);
    expect(eventsOf(got!).map((e) => e.sg_event_id)).toEqual(["sg-paused-1"]);
    expect(got!.headers[SIG]).toBeUndefined();
  });
});

describe("one set of webhooks, two APIs", () => {
  test("made through SendGrid's API: an ordinary sendgrid-format webhook in hookd's API", async () => {
    const app = await res.app();
    const rx = await res.receiver();
    const created = await json<{ id: string }>(
      sg(app, "POST", SETTINGS, {
        url: `${rx.url}/both`,
        enabled: true,
        processed: true,
        deferred: true,
        dropped: true,
        unsubscribe: true,
        spam_report: true,
        group_unsubscribe: true,
      }),
      201,
    );
    const { results } = await json<{ results: Record<string, unknown> }>(app.api("GET", `/webhooks/${created.id}`), 200);
    expect(results).toMatchObject({
      id: created.id,
      name: new URL(rx.url).host,
      target: `${rx.url}/both`,
      events: ["injection", "delay", "policy_rejection", "list_unsubscribe", "spam_complaint"],
      active: true,
      status: "active",
      format: "sendgrid",
      verification: "none",
      auth_type: "none",
      ecdsa_signed: false,
    });
    await json(sg(app, "PATCH", `${SETTINGS}/signed/${created.id}`, { enabled: true }), 200);
    expect((await json<{ results: { ecdsa_signed: boolean } }>(app.api("GET", `/webhooks/${created.id}`), 200)).results.ecdsa_signed).toBe(
      true,
    );

    // Every boolean left out is false, as on SendGrid: subscribed to nothing.
    const bare = await json<{ id: string; enabled: boolean; delivered: boolean }>(
      sg(app, "POST", SETTINGS, { url: `${rx.url}/bare` }),
      201,
    );
    expect(bare).toMatchObject({ enabled: false, delivered: false });
    const bareView = await json<{ results: Record<string, unknown> }>(app.api("GET", `/webhooks/${bare.id}`), 200);
    expect(bareView.results).toMatchObject({ events: [], active: false, status: "inactive", queue_depth: 0 });
  });

  test("made through hookd's API: sendgrid-format webhooks are SendGrid's, others are not", async () => {
    const app = await res.app();
    const rx = await res.receiver();
    const sendgrid = await json<{ results: { id: string } }>(
      app.api("POST", "/webhooks", {
        body: { name: "From hookd", target: `${rx.url}/sg`, events: ["delivery", "bounce", "click"], format: "sendgrid" },
      }),
      201,
    );
    const hookd = await json<{ results: { id: string } }>(
      app.api("POST", "/webhooks", { body: { name: "Native", target: `${rx.url}/native`, events: ["*"] } }),
      201,
    );

    const all = await json<{ webhooks: Record<string, unknown>[] }>(sg(app, "GET", `${SETTINGS}/all`), 200);
    expect(all.webhooks).toHaveLength(1);
    // Made in hookd, it signs as sendgrid-format webhooks always did: public_key is shown.
    expect(all.webhooks[0]).toMatchObject({
      id: sendgrid.results.id,
      friendly_name: "From hookd",
      url: `${rx.url}/sg`,
      enabled: true,
      delivered: true,
      bounce: true,
      click: true,
      processed: false,
      open: false,
      group_unsubscribe: false,
      public_key: expect.any(String),
    });
    await sendGridErrors(await sg(app, "GET", `${SETTINGS}/${hookd.results.id}`), 404);
    await sendGridErrors(await sg(app, "DELETE", `${SETTINGS}/${hookd.results.id}`), 404);

    // A read-modify-write from SendGrid's side keeps hookd's finer choice: bounce without expired.
    const patched = await json<Record<string, unknown>>(
      sg(app, "PATCH", `${SETTINGS}/${sendgrid.results.id}`, { ...all.webhooks[0], click: false, open: true }),
      200,
    );
    expect(patched).toMatchObject({ click: false, open: true, bounce: true });
    const back = await json<{ results: { events: string[]; format: string } }>(app.api("GET", `/webhooks/${sendgrid.results.id}`), 200);
    expect(back.results.events).toEqual(["delivery", "bounce", "open"]);

    // Moved to another format in hookd, it leaves SendGrid's list.
    await json(app.api("PATCH", `/webhooks/${sendgrid.results.id}`, { body: { format: "hookd" } }), 200);
    expect((await json<{ webhooks: unknown[] }>(sg(app, "GET", `${SETTINGS}/all`), 200)).webhooks).toEqual([]);
  });
});

describe("POST /v3/user/webhooks/event/test", () => {
  test("sends SendGrid-format samples of every type to the URL given; with a signed webhook's id, signed with its key", async () => {
    const app = await res.app();
    const rx = await res.receiver();
    const created = await json<{ id: string }>(sg(app, "POST", SETTINGS, { url: `${rx.url}/hook`, delivered: true }), 201);
    const { public_key } = await json<{ public_key: string }>(sg(app, "PATCH", `${SETTINGS}/signed/${created.id}`, { enabled: true }), 200);

    const r = await sg(app, "POST", "/v3/user/webhooks/event/test", { id: created.id, url: `${rx.url}/hook` });
    expect(r.status).toBe(204);
    expect(await r.text()).toBe("");
    expect(rx.requests).toHaveLength(1);
    const sample = rx.requests[0]!;
    expect(sample.path).toBe("/hook");
    expect(verifies(public_key, sample)).toBe(true);
    expect([...new Set(eventsOf(sample).map((e) => e.event))].sort()).toEqual([
      "bounce",
      "click",
      "deferred",
      "delivered",
      "dropped",
      "open",
      "processed",
      "spamreport",
      "unsubscribe",
    ]);

    // Without an id: unsigned (there is no key to sign with).
    expect((await sg(app, "POST", "/v3/user/webhooks/event/test", { url: `${rx.url}/anywhere` })).status).toBe(204);
    expect(rx.requests[1]!.path).toBe("/anywhere");
    expect(rx.requests[1]!.headers[SIG]).toBeUndefined();
  });

  test("OAuth: the token from the token URL is sent; a stored secret is reused only for the webhook's own origins", async () => {
    const app = await res.app();
    const rx = await res.receiver();
    const other = await res.receiver();
    const tokens: URLSearchParams[] = [];
    rx.respondWith((req) => {
      if (req.path !== "/token") return { status: 200 };
      tokens.push(new URLSearchParams(req.body));
      return {
        status: 200,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ access_token: `tok-${tokens.length}`, expires_in: 3600 }),
      };
    });
    const oauth = { oauth_client_id: "cid", oauth_client_secret: "the-secret", oauth_token_url: `${rx.url}/token` };
    const created = await json<{ id: string }>(sg(app, "POST", SETTINGS, { url: `${rx.url}/hook`, delivered: true, ...oauth }), 201);

    // A new set of credentials: all three given.
    expect(
      (await sg(app, "POST", "/v3/user/webhooks/event/test", { url: `${rx.url}/hook`, ...oauth, oauth_client_secret: "another" })).status,
    ).toBe(204);
    expect(tokens.at(-1)!.get("client_secret")).toBe("another");
    expect(rx.requests.at(-1)!.headers.authorization).toBe("Bearer tok-1");

    // The saved ones: id and token URL; hookd pulls the secret, as SendGrid does.
    const { oauth_client_secret: _s, ...withoutSecret } = oauth;
    expect(
      (await sg(app, "POST", "/v3/user/webhooks/event/test", { id: created.id, url: `${rx.url}/hook`, ...withoutSecret })).status,
    ).toBe(204);
    expect(tokens.at(-1)!.get("client_secret")).toBe("the-secret");
    expect(rx.requests.at(-1)!.headers.authorization).toBe("Bearer tok-2");

    // Not to another URL's origin: the stored secret's token would go where its owner never sent it.
    const refused = await sendGridErrors(
      await sg(app, "POST", "/v3/user/webhooks/event/test", { id: created.id, url: `${other.url}/steal`, ...withoutSecret }),
      400,
    );
    expect(refused.errors[0]!.field).toBe("oauth_client_secret");
    const refusedToken = await sendGridErrors(
      await sg(app, "POST", "/v3/user/webhooks/event/test", {
        id: created.id,
        url: `${rx.url}/hook`,
        oauth_client_id: "cid",
        oauth_token_url: `${other.url}/token`,
      }),
      400,
    );
    expect(refusedToken.errors[0]!.field).toBe("oauth_client_secret");
    expect(other.requests).toHaveLength(0);
    expect(tokens).toHaveLength(2);
  });
});
