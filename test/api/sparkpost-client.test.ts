// SparkPost's own Node client (npm "sparkpost", unmodified) pointed at hookd: every
// webhooks call a team moving off SparkPost makes works and resolves with SparkPost's
// `results` shapes. The client sends the bare API key in Authorization and builds URLs as
// `${origin}/api/${apiVersion}/webhooks…`.
import { describe, expect, test } from "bun:test";
import { createRequire } from "node:module";
import { Webhook } from "standardwebhooks";
import { eventsOf, eventuallyValue } from "../helpers/delivery.ts";
import { testResources, type TestApp } from "../helpers/hookd.ts";
import type { Receiver, RecordedRequest } from "../helpers/receiver.ts";

// The package ships no types; the part used here, as its lib/webhooks.js defines it.
type Results<T> = { results: T };
type SparkPostError = Error & { name: "SparkPostError"; statusCode: number; errors?: { message: string; code: string; field?: string }[] };
type WebhooksApi = {
  list(options?: { timezone?: string }): Promise<Results<Record<string, unknown>[]>>;
  get(id: string, options?: { timezone?: string }): Promise<Results<Record<string, unknown>>>;
  create(webhook: Record<string, unknown>): Promise<Results<{ id: string; links: unknown[]; secret?: string }>>;
  update(id: string, webhook: Record<string, unknown>): Promise<Results<Record<string, unknown>>>;
  delete(id: string): Promise<unknown>;
  validate(
    id: string,
    options: { message: unknown },
  ): Promise<Results<{ msg: string; response: { status: number; headers: Record<string, string>; body: string } }>>;
  getBatchStatus(
    id: string,
    options?: { limit?: number },
  ): Promise<Results<{ batch_id: string; ts: string; attempts: number; response_code: string | null }[]>>;
  getDocumentation(): Promise<
    Results<Record<string, { events: Record<string, { event: Record<string, { description: string; sampleValue: unknown }> }> }>>
  >;
  getSamples(options?: { events?: string }): Promise<Results<Record<string, unknown>[]>>;
};
type SparkPostClient = { webhooks: WebhooksApi };
type SparkPostCtor = new (key: string, options: { origin: string; apiVersion: string }) => SparkPostClient;

const SparkPost = createRequire(import.meta.url)("sparkpost") as SparkPostCtor;

const res = testResources();

async function setup(): Promise<{ app: TestApp; rx: Receiver; client: SparkPostClient }> {
  const rx = await res.receiver();
  const app = await res.app({ delivery: { batch_max_wait: 50 } });
  const client = new SparkPost(app.key, { origin: app.url, apiVersion: "v1" });
  return { app, rx, client };
}

/** The rejection of `p`, which must be a SparkPostError. */
async function sparkPostError(p: Promise<unknown>): Promise<SparkPostError> {
  try {
    await p;
  } catch (err) {
    const e = err as SparkPostError;
    if (e.name !== "SparkPostError") throw err;
    return e;
  }
  throw new Error("expected the call to reject with a SparkPostError");
}

describe("the sparkpost npm client against hookd", () => {
  test("create → list → get → update → validate → getBatchStatus → delete, each resolving with SparkPost's results", async () => {
    const { app, rx, client } = await setup();

    // create: hookd test-POSTs the target first (verification test_post), then 201.
    const created = await client.webhooks.create({ name: "Bounce handler", target: `${rx.url}/sp`, events: ["delivery", "bounce"] });
    const id = created.results.id;
    expect(id).toBeString();
    expect(created.results.links).toEqual([
      { href: `${app.url}/api/v1/webhooks/${id}`, rel: "urn.msys.webhooks.webhook", method: ["GET", "PUT", "PATCH", "DELETE"] },
    ]);
    expect(rx.requests).toHaveLength(1);
    expect(rx.requests[0]!.path).toBe("/sp");
    new Webhook(created.results.secret!).verify(rx.requests[0]!.body, rx.requests[0]!.headers);

    // list (and with SparkPost's timezone option)
    const listed = await client.webhooks.list();
    expect(listed.results.map((w) => w.id)).toEqual([id]);
    expect(listed.results[0]).toMatchObject({
      name: "Bounce handler",
      target: `${rx.url}/sp`,
      events: ["delivery", "bounce"],
      active: true,
    });
    expect((await client.webhooks.list({ timezone: "America/New_York" })).results).toHaveLength(1);

    // get
    const got = await client.webhooks.get(id, { timezone: "UTC" });
    expect(got.results).toMatchObject({
      id,
      name: "Bounce handler",
      target: `${rx.url}/sp`,
      events: ["delivery", "bounce"],
      status: "active",
      auth_type: "none",
    });
    expect(got.results.last_successful).toBeNull();

    // update (PUT with the changed fields)
    const updated = await client.webhooks.update(id, { name: "Delivery feed", events: ["delivery"] });
    expect(updated.results).toMatchObject({ id, name: "Delivery feed", events: ["delivery"], target: `${rx.url}/sp` });
    expect((await client.webhooks.get(id)).results).toMatchObject({ name: "Delivery feed", events: ["delivery"] });

    // validate: the given message is POSTed now, signed; the receiver's answer comes back.
    rx.respondWith({ status: 200, headers: { "x-receiver": "sparkpost-consumer" }, body: "ok" });
    const message = { msys: { message_event: { type: "delivery", rcpt_to: "alice@example.org", event_id: "92356927693813856" } } };
    const validated = await client.webhooks.validate(id, { message });
    expect(validated.results.msg).toBe("Test POST to webhook succeeded");
    expect(validated.results.response).toMatchObject({ status: 200, body: "ok" });
    expect(validated.results.response.headers["x-receiver"]).toBe("sparkpost-consumer");
    // SparkPost POSTs the given message as it is.
    expect(rx.requests.at(-1)!.json()).toEqual(message);
    new Webhook(created.results.secret!).verify(rx.requests.at(-1)!.body, rx.requests.at(-1)!.headers);

    // getBatchStatus: a real batch, delivered.
    const posted = await app.api("POST", "/events", { body: [{ type: "delivery", event_id: "sp-ev-1", rcpt_to: "bob@example.org" }] });
    expect(posted.status).toBe(200);
    const carries = (r: RecordedRequest) => Array.isArray(r.json()) && eventsOf(r).some((e) => e.event_id === "sp-ev-1");
    await rx.waitFor((reqs) => reqs.some(carries));
    const status = await eventuallyValue(async () => {
      const s = await client.webhooks.getBatchStatus(id);
      return s.results.length === 1 && s.results[0]!.response_code === "200" ? s.results : null;
    });
    const batchRequest = rx.requests.find(carries)!;
    expect(status[0]).toMatchObject({ batch_id: batchRequest.headers["webhook-id"], attempts: 1, response_code: "200" });
    expect(Number.isNaN(Date.parse(status[0]!.ts))).toBe(false);
    expect((await client.webhooks.getBatchStatus(id, { limit: 1 })).results).toHaveLength(1);

    // delete: 204, then the webhook is gone (404 through the client's error).
    await client.webhooks.delete(id);
    const gone = await sparkPostError(client.webhooks.get(id));
    expect(gone.statusCode).toBe(404);
    expect(gone.errors?.[0]?.code).toBe("not_found");
    expect((await client.webhooks.list()).results).toEqual([]);
  });

  test("getDocumentation and getSamples", async () => {
    const { client } = await setup();
    const docs = await client.webhooks.getDocumentation();
    const delivery = docs.results.mail_event!.events.delivery!;
    expect(delivery.event.rcpt_to!.description.length).toBeGreaterThan(0);
    expect(delivery.event.rcpt_to!.sampleValue).toBe("alice@example.org");
    expect(Object.keys(docs.results.engagement_event!.events).sort()).toEqual(["click", "list_unsubscribe", "open", "spam_complaint"]);

    const samples = await client.webhooks.getSamples({ events: "delivery" });
    expect(samples.results.map((e) => e.type)).toEqual(["delivery"]);
    const several = await client.webhooks.getSamples({ events: "bounce,open" });
    expect(several.results.map((e) => e.type)).toEqual(["bounce", "open"]);
  });

  test("SparkPost's receiver auth fields: auth_type token sends X-MessageSystems-Webhook-Token, credentials come back redacted", async () => {
    const { rx, client } = await setup();
    const token = "sp-shared-token-5d1c3a";
    const created = await client.webhooks.create({
      name: "With token",
      target: `${rx.url}/tok`,
      events: ["bounce"],
      auth_type: "token",
      auth_token: token,
      custom_headers: { "x-customer-id": "42" },
    });
    expect(rx.requests).toHaveLength(1);
    expect(rx.requests[0]!.headers["x-messagesystems-webhook-token"]).toBe(token);
    expect(rx.requests[0]!.headers["x-customer-id"]).toBe("42");
    const got = await client.webhooks.get(created.results.id);
    expect(got.results).toMatchObject({ auth_type: "token", custom_headers: { "x-customer-id": "42" } });
    expect(JSON.stringify(got.results)).not.toContain(token);

    // Switch to basic auth through update.
    await client.webhooks.update(created.results.id, {
      auth_type: "basic",
      auth_credentials: { username: "hooks", password: "pa55-word-xyz" },
    });
    const validated = await client.webhooks.validate(created.results.id, { message: { msys: {} } });
    expect(validated.results.response.status).toBe(200);
    expect(rx.requests.at(-1)!.headers.authorization).toBe(`Basic ${Buffer.from("hooks:pa55-word-xyz").toString("base64")}`);
    expect(JSON.stringify((await client.webhooks.get(created.results.id)).results)).not.toContain("pa55-word-xyz");
  });

  test("errors come back as SparkPostError with the status and hookd's errors array", async () => {
    const { app, rx, client } = await setup();

    const badTarget = await sparkPostError(client.webhooks.create({ name: "x", target: "ftp://example.com/", events: ["delivery"] }));
    expect(badTarget.statusCode).toBe(400);
    expect(badTarget.errors?.[0]?.field).toBe("target");

    rx.respondWith({ status: 500 });
    const refused = await sparkPostError(client.webhooks.create({ name: "x", target: `${rx.url}/down`, events: ["delivery"] }));
    expect(refused.statusCode).toBe(400);
    expect(refused.errors?.[0]?.code).toBe("verification_failed");

    const wrongKey = new SparkPost("not-a-real-key", { origin: app.url, apiVersion: "v1" });
    const unauthorized = await sparkPostError(wrongKey.webhooks.list());
    expect(unauthorized.statusCode).toBe(401);
    expect(unauthorized.errors?.[0]?.code).toBe("unauthorized");

    const missing = await sparkPostError(client.webhooks.update("01nosuchwebhook", { name: "y" }));
    expect(missing.statusCode).toBe(404);
    const missingDelete = await sparkPostError(client.webhooks.delete("01nosuchwebhook"));
    expect(missingDelete.statusCode).toBe(404);
  });
});
