// How a key could get at the credentials a webhook holds for its receiver, tried over HTTP:
// moving the OAuth2 token endpoint to itself with the client secret sent back as REDACTED,
// reading targets and custom headers with a key that may only read, and credentials put in
// a target's userinfo (which no request ever sends).
import { describe, expect, test } from "bun:test";
import { createApiKey } from "../../src/store/sqlite/keys.ts";
import { updateWebhook } from "../../src/store/sqlite/webhooks.ts";
import { createWebhook, eventsOf, makeEvents, results } from "../helpers/delivery.ts";
import { errorBody, testResources } from "../helpers/hookd.ts";
import type { Receiver } from "../helpers/receiver.ts";

const t = testResources();

const CLIENT_SECRET = "cs-stored-secret";

/** A receiver that answers every POST /token with an access token, like a token endpoint. */
async function tokenEndpoint(token: string): Promise<Receiver> {
  const r = await t.receiver();
  r.respondWith({
    status: 200,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ access_token: token, token_type: "Bearer", expires_in: 3600 }),
  });
  return r;
}

describe("the OAuth2 client secret does not follow the token endpoint to another origin", () => {
  test("PATCH auth_request_details.url to another origin with client_secret REDACTED: 400 naming the field; the attacker gets nothing on validate or delivery", async () => {
    const app = await t.app();
    const tokens = await tokenEndpoint("at-legit");
    const attacker = await tokenEndpoint("at-attacker");
    const rx = await t.receiver();
    const wh = await createWebhook(app, `${rx.url}/in`, {
      auth_type: "oauth2",
      auth_request_details: { url: `${tokens.url}/token`, body: { client_id: "cid", client_secret: CLIENT_SECRET } },
    });

    const res = await app.api("PATCH", `/webhooks/${wh.id}`, {
      body: { auth_request_details: { url: `${attacker.url}/token`, body: { client_id: "cid", client_secret: "********" } } },
    });
    expect(res.status).toBe(400);
    const { errors } = await errorBody(res);
    expect(errors.map((e) => `${e.field}:${e.code}`)).toEqual(["auth_request_details:required"]);
    expect(errors[0]!.message).toContain("auth_request_details.url moves to another origin");

    // The webhook still uses the real token endpoint: validate and a delivery both go there.
    const validated = await results<{ response: { status: number } }>(app.api("POST", `/webhooks/${wh.id}/validate`, { body: {} }));
    expect(validated.response.status).toBe(200);
    const events = makeEvents(2, "oauth");
    await results(app.api("POST", "/events", { body: events }));
    await rx.waitFor((reqs) => reqs.some((r) => eventsOf(r).some((e) => e.event_id === events[0]!.event_id)), 10_000);
    expect(rx.requests.every((r) => r.headers.authorization === "Bearer at-legit")).toBe(true);
    expect(tokens.requests.length).toBeGreaterThanOrEqual(1);
    expect(tokens.requests[0]!.body).toContain(CLIENT_SECRET);
    expect(attacker.requests).toHaveLength(0);
  });

  test("a new token URL on the same origin keeps the stored secret; another origin with a fresh secret is accepted", async () => {
    const app = await t.app();
    const tokens = await tokenEndpoint("at-1");
    const other = await tokenEndpoint("at-2");
    const rx = await t.receiver();
    const wh = await createWebhook(app, `${rx.url}/in`, {
      auth_type: "oauth2",
      auth_request_details: { url: `${tokens.url}/token`, body: { client_id: "cid", client_secret: CLIENT_SECRET } },
    });
    const samePlace = await app.api("PATCH", `/webhooks/${wh.id}`, {
      body: { auth_request_details: { url: `${tokens.url}/oauth/token`, body: { client_id: "cid", client_secret: "********" } } },
    });
    expect(samePlace.status).toBe(200);
    await results(app.api("POST", `/webhooks/${wh.id}/validate`, { body: {} }));
    expect(tokens.requests.at(-1)!.path).toBe("/oauth/token");
    expect(tokens.requests.at(-1)!.body).toContain(CLIENT_SECRET);

    const fresh = await app.api("PATCH", `/webhooks/${wh.id}`, {
      body: { auth_request_details: { url: `${other.url}/token`, body: { client_id: "cid", client_secret: "a-new-secret" } } },
    });
    expect(fresh.status).toBe(200);
    await results(app.api("POST", `/webhooks/${wh.id}/validate`, { body: {} }));
    expect(other.requests.map((r) => r.body.includes("a-new-secret"))).toEqual([true]);
    expect(other.requests.some((r) => r.body.includes(CLIENT_SECRET))).toBe(false);
  });
});

describe("a key without webhooks:write", () => {
  test("sees no userinfo or query values in the target or token URL, and no custom header value; a writer still sees them", async () => {
    const app = await t.app();
    const rx = await t.receiver();
    const wh = await createWebhook(app, `${rx.url}/in?token=q-secret&tenant=7`, {
      auth_type: "oauth2",
      auth_request_details: { url: `${rx.url}/token?key=k-secret`, body: { client_id: "cid", client_secret: CLIENT_SECRET } },
      custom_headers: { "X-Credential": "cred-secret", "X-Session": "sess-secret", "X-Api-Key": "k3y" },
    });
    // A webhook stored before targets with userinfo were refused.
    await app.hookd.store.webhooks.update(wh.id, { target: `http://alice:pw-secret@127.0.0.1:${rx.port}/in?token=q-secret&tenant=7` });
    const reader = (await app.hookd.store.keys.create("reader", ["webhooks:read"], Date.now())).key;

    for (const path of [`/webhooks/${wh.id}`, "/webhooks"]) {
      const res = await app.api("GET", path, { key: reader });
      const text = await res.text();
      expect(res.status).toBe(200);
      for (const secret of ["q-secret", "k-secret", "alice", "pw-secret", "cred-secret", "sess-secret", "k3y", CLIENT_SECRET])
        expect(text).not.toContain(secret);
    }
    const view = await results<{ target: string; auth_request_details: { url: string }; custom_headers: Record<string, string> }>(
      app.api("GET", `/webhooks/${wh.id}`, { key: reader }),
    );
    expect(view.target).toBe(`http://********:********@127.0.0.1:${rx.port}/in?token=********&tenant=********`);
    expect(view.auth_request_details.url).toBe(`${rx.url}/token?key=********`);
    expect(view.custom_headers).toEqual({ "X-Credential": "********", "X-Session": "********", "X-Api-Key": "********" });

    const asWriter = await results<{ target: string; custom_headers: Record<string, string> }>(app.api("GET", `/webhooks/${wh.id}`));
    expect(asWriter.target).toContain("?token=q-secret&tenant=7");
    expect(asWriter.custom_headers).toEqual({ "X-Credential": "cred-secret", "X-Session": "sess-secret", "X-Api-Key": "********" });
  });
});

describe("credentials in a URL's userinfo", () => {
  test("refused at create and at update with a 400 that points to auth_credentials; nothing is stored or sent", async () => {
    const app = await t.app();
    const rx = await t.receiver();
    const target = `http://user:pw@127.0.0.1:${rx.port}/in`;
    const created = await app.api("POST", "/webhooks", { body: { name: "u", target, events: ["*"], verification: "none" } });
    expect(created.status).toBe(400);
    const { errors } = await errorBody(created);
    expect(errors.map((e) => `${e.field}:${e.code}`)).toEqual(["target:invalid_url"]);
    expect(errors[0]!.message).toContain("auth_credentials");
    expect(await results<unknown[]>(app.api("GET", "/webhooks"))).toEqual([]);

    const wh = await createWebhook(app, `${rx.url}/in`);
    const patched = await app.api("PATCH", `/webhooks/${wh.id}`, { body: { target } });
    expect(patched.status).toBe(400);
    expect((await errorBody(patched)).errors[0]!.message).toContain("auth_credentials");
    const tokenUrl = await app.api("PATCH", `/webhooks/${wh.id}`, {
      body: {
        auth_type: "oauth2",
        auth_request_details: { url: `http://id:pw@127.0.0.1:${rx.port}/token`, body: { client_id: "c", client_secret: "s" } },
      },
    });
    expect(tokenUrl.status).toBe(400);
    expect((await errorBody(tokenUrl)).errors.map((e) => e.field)).toEqual(["auth_request_details.url"]);
    expect(rx.requests).toHaveLength(0);
  });
});
