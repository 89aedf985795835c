// SparkPost's auth_token: "Optionally, you can include an authentication token. This token
// is present in the X-MessageSystems-Webhook-Token header of POST requests to the target
// URL." SparkPost's tutorial webhook gives one without auth_type; hookd sends it on every
// request to the target (test POST, validate, handshake, every batch), whatever auth_type.
import { describe, expect, test } from "bun:test";
import { createRequire } from "node:module";
import { eventsOf, postEvents, startDeliveryApp } from "../helpers/delivery.ts";
import { testResources } from "../helpers/hookd.ts";
import type { RecordedRequest } from "../helpers/receiver.ts";

type SparkPostClient = {
  webhooks: {
    create(webhook: Record<string, unknown>): Promise<{ results: { id: string } }>;
    get(id: string): Promise<{ results: Record<string, unknown> }>;
    validate(id: string, options: { message: unknown }): Promise<{ results: { response: { status: number } } }>;
  };
};
type SparkPostCtor = new (key: string, options: { origin: string; apiVersion: string }) => SparkPostClient;
const SparkPost = createRequire(import.meta.url)("sparkpost") as SparkPostCtor;

const t = testResources();
const TOKEN = "5ebe2294ecd0e0f08eab7690d2a6ee69";
const HEADER = "x-messagesystems-webhook-token";

async function setup() {
  const rx = await t.receiver();
  // One event per batch, so several events make several batches.
  const app = t.track(await startDeliveryApp({ config: { delivery: { batch_max_wait: 50, batch_max_events: 1 } } }));
  return { rx, app, client: new SparkPost(app.key, { origin: app.url, apiVersion: "v1" }) };
}

const carrying = (reqs: readonly RecordedRequest[], id: string) =>
  reqs.filter((r) => Array.isArray(r.json()) && eventsOf(r).some((e) => e.event_id === id));

describe("auth_token through the sparkpost client", () => {
  test("the tutorial's webhook with auth_token and no auth_type: the header is on the test POST, validate and every batch", async () => {
    const { rx, app, client } = await setup();
    const created = await client.webhooks.create({
      name: "Example webhook",
      target: `${rx.url}/example`,
      auth_token: TOKEN,
      events: ["delivery", "injection", "open", "click"],
    });
    expect(rx.requests).toHaveLength(1); // the test POST
    expect(rx.requests[0]!.headers[HEADER]).toBe(TOKEN);
    const view = (await client.webhooks.get(created.results.id)).results;
    expect(view).toMatchObject({ auth_type: "none", auth_token: "********" });

    await client.webhooks.validate(created.results.id, { message: { msys: {} } });
    expect(rx.requests.at(-1)!.headers[HEADER]).toBe(TOKEN);

    await postEvents(app, [
      { type: "delivery", event_id: "tok-1", rcpt_to: "ada@example.org" },
      { type: "open", event_id: "tok-2", rcpt_to: "ada@example.org" },
      { type: "click", event_id: "tok-3", rcpt_to: "ada@example.org", url: "https://example.org/" },
    ]);
    await rx.waitFor((reqs) => ["tok-1", "tok-2", "tok-3"].every((id) => carrying(reqs, id).length > 0));
    const batches = ["tok-1", "tok-2", "tok-3"].map((id) => carrying(rx.requests, id)[0]!);
    expect(new Set(batches.map((b) => b.headers["webhook-id"])).size).toBe(3);
    for (const b of batches) expect(b.headers[HEADER]).toBe(TOKEN);
    expect(rx.requests.every((r) => r.headers[HEADER] === TOKEN)).toBe(true);
  });

  test("auth_type basic with an auth_token: both Authorization and the token header, on the test POST and the batches", async () => {
    const { rx, app, client } = await setup();
    await client.webhooks.create({
      name: "Basic and token",
      target: `${rx.url}/both`,
      auth_type: "basic",
      auth_credentials: { username: "hooks", password: "s3cret-pass" },
      auth_token: TOKEN,
      events: ["bounce"],
    });
    await postEvents(app, [{ type: "bounce", event_id: "both-1", rcpt_to: "bob@example.org", dsn: "5.1.1" }]);
    await rx.waitFor((reqs) => carrying(reqs, "both-1").length > 0);
    const basic = `Basic ${Buffer.from("hooks:s3cret-pass").toString("base64")}`;
    expect(rx.requests.length).toBeGreaterThanOrEqual(2);
    for (const r of rx.requests) {
      expect(r.headers.authorization).toBe(basic);
      expect(r.headers[HEADER]).toBe(TOKEN);
    }
  });

  test("the handshake POST carries the token too; auth_type token without one is still a 400", async () => {
    const { rx, app } = await setup();
    const res = await app.api("POST", "/webhooks", {
      body: { name: "hs", target: `${rx.url}/hs`, events: ["*"], verification: "handshake", auth_token: TOKEN },
    });
    expect(res.status).toBe(201);
    expect(rx.requests).toHaveLength(1);
    expect(Object.keys(rx.requests[0]!.json() as object).sort()).toEqual(["callbackKey", "id", "secretToken"]);
    expect(rx.requests[0]!.headers[HEADER]).toBe(TOKEN);

    const missing = await app.api("POST", "/webhooks", { body: { name: "t", target: `${rx.url}/t`, events: ["*"], auth_type: "token" } });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { errors: { field: string }[] }).errors[0]!.field).toBe("auth_token");
  });
});
