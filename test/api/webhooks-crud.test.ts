import { describe, expect, test } from "bun:test";
import { eventually } from "../helpers/eventually.ts";
import { errorBody, testResources, type TestApp } from "../helpers/hookd.ts";
import { sqlRow } from "../helpers/store-sql.ts";

const t = testResources();

type View = Record<string, unknown> & { id: string; name: string; target: string; updated: string };

// Distinctive values, so a leak anywhere in a response is caught by a plain substring search.
const SECRETS = {
  token: "tok-7f3a9c1e-SECRET",
  password: "pw-2b8d4e6f-SECRET",
  clientSecret: "cs-9a1c3e5b-SECRET",
  headerKey: "hk-5d7f9b2a-SECRET",
};

async function create(app: TestApp, body: Record<string, unknown>) {
  const res = await app.api("POST", "/webhooks", { body });
  const text = await res.text();
  expect(`${res.status} ${text}`).toStartWith("201 ");
  return (JSON.parse(text) as { results: { id: string; secret: string } }).results;
}

async function getView(app: TestApp, id: string): Promise<{ view: View; text: string }> {
  const res = await app.api("GET", `/webhooks/${id}`);
  const text = await res.text();
  expect(`${res.status} ${text}`).toStartWith("200 ");
  return { view: (JSON.parse(text) as { results: View }).results, text };
}

function withoutVolatile(v: View) {
  const { updated: _u, ...rest } = v;
  return rest;
}

describe("webhook CRUD with every field", () => {
  test("create with all fields, one webhook per auth_type; GET and both lists redact every secret", async () => {
    const app = await t.app();
    const r = await t.receiver();
    const common = {
      events: ["delivery", "bounce", "delivery"],
      custom_headers: { "X-Team": "mail-ops", "X-Api-Key": SECRETS.headerKey },
      format: "sparkpost",
      batch_max_events: 250,
      batch_max_wait: "2s",
      batch_max_bytes: "1MB",
      filter: { sender_domains: ["example.com"], rcpt_domains: ["example.org"], hosts: ["mx1"] },
    };
    // token and basic are test-POSTed, so the receiver shows the credentials really are kept.
    const token = await create(app, {
      ...common,
      name: "token",
      target: `${r.url}/token`,
      auth_type: "token",
      auth_token: SECRETS.token,
      active: false,
    });
    const basic = await create(app, {
      ...common,
      name: "basic",
      target: `${r.url}/basic`,
      auth_type: "basic",
      auth_credentials: { username: "hookd-user", password: SECRETS.password },
    });
    const oauth = await create(app, {
      ...common,
      name: "oauth2",
      target: `${r.url}/oauth2`,
      auth_type: "oauth2",
      auth_request_details: {
        url: "https://auth.example.com/oauth/token",
        body: { client_id: "hookd-client", client_secret: SECRETS.clientSecret },
      },
      verification: "none",
    });

    const byPath = Object.fromEntries(r.requests.map((q) => [q.path, q.headers]));
    expect(Object.keys(byPath).sort()).toEqual(["/basic", "/token"]);
    expect(byPath["/token"]!["x-messagesystems-webhook-token"]).toBe(SECRETS.token);
    expect(byPath["/basic"]!["authorization"]).toBe("Basic " + Buffer.from(`hookd-user:${SECRETS.password}`).toString("base64"));
    expect(byPath["/basic"]!["x-team"]).toBe("mail-ops");
    expect(byPath["/basic"]!["x-api-key"]).toBe(SECRETS.headerKey);

    const secretsNeverShown = [...Object.values(SECRETS), token.secret, basic.secret, oauth.secret];
    const expectRedacted = (text: string) => {
      for (const s of secretsNeverShown) expect(text.includes(s) ? `leaked ${s}` : "ok").toBe("ok");
      expect(text).not.toContain("whsec_");
    };

    const t1 = await getView(app, token.id);
    expectRedacted(t1.text);
    expect(t1.view).toMatchObject({
      id: token.id,
      name: "token",
      target: `${r.url}/token`,
      events: ["delivery", "bounce"],
      active: false,
      status: "inactive",
      auth_type: "token",
      format: "sparkpost",
      verification: "test_post",
      batch_max_events: 250,
      batch_max_wait: 2000,
      batch_max_bytes: 1_000_000,
      filter: { sender_domains: ["example.com"], rcpt_domains: ["example.org"], hosts: ["mx1"] },
    });
    expect(typeof t1.view.auth_token).toBe("string");
    expect((t1.view.custom_headers as Record<string, string>)["X-Team"]).toBe("mail-ops");
    expect(t1.view.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(t1.view).not.toHaveProperty("secret");

    const b1 = await getView(app, basic.id);
    expectRedacted(b1.text);
    expect(b1.view).toMatchObject({ auth_type: "basic", active: true, status: "active" });
    expect((b1.view.auth_credentials as { username: string }).username).toBe("hookd-user");

    const o1 = await getView(app, oauth.id);
    expectRedacted(o1.text);
    expect(o1.view).toMatchObject({ auth_type: "oauth2", verification: "none" });
    const details = o1.view.auth_request_details as { url: string; body: { client_id: string } };
    expect(details.url).toBe("https://auth.example.com/oauth/token");
    expect(details.body.client_id).toBe("hookd-client");

    for (const path of ["/webhooks", "/accounts/current/webhooks", "/accounts/current/webhooks?timezone=UTC"]) {
      const res = await app.api("GET", path);
      const text = await res.text();
      expect(`${res.status} ${path}`).toBe(`200 ${path}`);
      expectRedacted(text);
      const list = (JSON.parse(text) as { results: View[] }).results;
      expect(list.map((w) => w.id).sort()).toEqual([token.id, basic.id, oauth.id].sort());
      const listed = list.find((w) => w.id === basic.id)!;
      expect(withoutVolatile(listed)).toEqual(withoutVolatile(b1.view));
    }
  });

  test("a new webhook's defaults", async () => {
    const app = await t.app();
    const r = await t.receiver();
    const { id } = await create(app, { name: "d", target: r.url, events: ["*"] });
    const { view } = await getView(app, id);
    expect(view).toMatchObject({
      events: ["*"],
      active: true,
      status: "active",
      auth_type: "none",
      format: "hookd",
      verification: "test_post",
      batch_max_events: null,
      batch_max_wait: null,
      batch_max_bytes: null,
      filter: null,
    });
    for (const k of ["auth_token", "auth_credentials", "auth_request_details", "secret"]) expect(view).not.toHaveProperty(k);
  });

  test("PATCH and PUT change only the fields given; null clears", async () => {
    const app = await t.app();
    const r = await t.receiver();
    const { id } = await create(app, {
      name: "orig",
      target: `${r.url}/a`,
      events: ["delivery"],
      auth_type: "token",
      auth_token: SECRETS.token,
      custom_headers: { "X-Team": "a" },
      batch_max_events: 10,
      batch_max_wait: "2s",
      filter: { rcpt_domains: ["example.org"] },
    });
    const before = (await getView(app, id)).view;
    // The clock past the stored stamp, so that a change can show as a later one.
    await eventually(() => Date.now() > Date.parse(before.updated), { intervalMs: 1 });

    const patch = await app.api("PATCH", `/webhooks/${id}`, { body: { name: "renamed", batch_max_wait: null, filter: null } });
    expect(patch.status).toBe(200);
    const afterPatch = ((await patch.json()) as { results: View }).results;
    const { view: stored } = await getView(app, id);
    expect(withoutVolatile(stored)).toEqual(withoutVolatile(afterPatch));
    expect(stored.name).toBe("renamed");
    expect(stored.batch_max_wait).toBeNull();
    expect(stored.filter).toBeNull();
    expect(stored.updated > before.updated).toBe(true);
    const { name: _n1, batch_max_wait: _w1, filter: _f1, updated: _u1, ...restBefore } = before;
    const { name: _n2, batch_max_wait: _w2, filter: _f2, updated: _u2, ...restAfter } = stored;
    expect(restAfter).toEqual(restBefore);

    const put = await app.api("PUT", `/webhooks/${id}`, {
      body: { events: ["bounce", "open"], custom_headers: null, batch_max_events: 99, active: false },
    });
    expect(put.status).toBe(200);
    const { view: afterPut } = await getView(app, id);
    expect(afterPut).toMatchObject({
      name: "renamed",
      events: ["bounce", "open"],
      batch_max_events: 99,
      active: false,
      auth_type: "token",
      target: `${r.url}/a`,
    });
    expect(afterPut).not.toHaveProperty("custom_headers");
    expect(afterPut.auth_token).toBeDefined();

    // Neither touched the target, so nothing was re-tested.
    expect(r.requests.map((q) => q.path)).toEqual(["/a"]);
  });

  test("auth_type token without auth_token → 400 required on auth_token (create and update)", async () => {
    const app = await t.app();
    const r = await t.receiver();
    const res = await app.api("POST", "/webhooks", { body: { name: "x", target: r.url, events: ["delivery"], auth_type: "token" } });
    expect(res.status).toBe(400);
    const { errors } = await errorBody(res);
    expect(errors[0]).toMatchObject({ code: "required", field: "auth_token" });
    expect(errors[0]!.message).toContain("auth_token");
    expect(r.requests).toHaveLength(0);

    for (const [authType, field] of [
      ["basic", "auth_credentials"],
      ["oauth2", "auth_request_details"],
    ]) {
      const bad = await app.api("POST", "/webhooks", { body: { name: "x", target: r.url, events: ["delivery"], auth_type: authType } });
      expect(bad.status).toBe(400);
      expect((await errorBody(bad)).errors[0]).toMatchObject({ code: "required", field });
    }

    const { id } = await create(app, { name: "x", target: r.url, events: ["delivery"], auth_type: "token", auth_token: SECRETS.token });
    const cleared = await app.api("PATCH", `/webhooks/${id}`, { body: { auth_token: null } });
    expect(cleared.status).toBe(400);
    expect((await errorBody(cleared)).errors[0]).toMatchObject({ code: "required", field: "auth_token" });
    const switched = await app.api("PATCH", `/webhooks/${id}`, { body: { auth_type: "basic" } });
    expect((await errorBody(switched)).errors[0]).toMatchObject({ code: "required", field: "auth_credentials" });
    const { view } = await getView(app, id);
    expect(view.auth_type).toBe("token");
    expect(view.auth_token).toBeDefined();
  });

  test("custom headers hookd sets itself are refused (any case)", async () => {
    const app = await t.app();
    for (const name of ["webhook-signature", "Webhook-Id", "content-type", "X-MessageSystems-Webhook-Token", "Host"]) {
      const res = await app.api("POST", "/webhooks", {
        body: { name: "x", target: "http://127.0.0.1:9/", events: ["delivery"], verification: "none", custom_headers: { [name]: "v" } },
      });
      expect(`${name} ${res.status}`).toBe(`${name} 400`);
      const { errors } = await errorBody(res);
      expect(errors[0]!.field).toBe(`custom_headers.${name}`);
      expect(errors[0]!.message).toContain(name);
    }
    expect(((await (await app.api("GET", "/webhooks")).json()) as { results: unknown[] }).results).toEqual([]);
  });

  test("a refused custom header's message says why (it is set by hookd)", async () => {
    const app = await t.app();
    const res = await app.api("POST", "/webhooks", {
      body: {
        name: "x",
        target: "http://127.0.0.1:9/",
        events: ["delivery"],
        verification: "none",
        custom_headers: { "webhook-signature": "v1,forged" },
      },
    });
    expect(res.status).toBe(400);
    const { errors } = await errorBody(res);
    expect(errors[0]!.field).toBe("custom_headers.webhook-signature");
    expect(errors[0]!.message).toMatch(/set by hookd|cannot be overridden/);
  });

  test("DELETE → 204 with no body, then 404 for GET, DELETE and in the list", async () => {
    const app = await t.app();
    const r = await t.receiver();
    const keep = await create(app, { name: "keep", target: r.url, events: ["delivery"] });
    const gone = await create(app, { name: "gone", target: r.url, events: ["delivery"] });
    const del = await app.api("DELETE", `/webhooks/${gone.id}`);
    expect(del.status).toBe(204);
    expect(await del.text()).toBe("");
    expect((await app.api("GET", `/webhooks/${gone.id}`)).status).toBe(404);
    expect((await app.api("DELETE", `/webhooks/${gone.id}`)).status).toBe(404);
    expect((await app.api("PATCH", `/webhooks/${gone.id}`, { body: { name: "zombie" } })).status).toBe(404);
    const list = (await (await app.api("GET", "/webhooks")).json()) as { results: View[] };
    expect(list.results.map((w) => w.id)).toEqual([keep.id]);
  });
});

describe("deleting a webhook with queued batches", () => {
  test("DELETE drops its undelivered batches; other webhooks keep theirs", async () => {
    const app = await t.app({ delivery: { batch_max_wait: 10 } });
    const r = await t.receiver();
    r.respondWith({ status: 500 });
    const doomed = await create(app, { name: "doomed", target: `${r.url}/doomed`, events: ["open"], verification: "none" });
    const kept = await create(app, { name: "kept", target: `${r.url}/kept`, events: ["open"], verification: "none" });
    const posted = await app.api("POST", "/events", { body: [{ type: "open", event_id: "q-1", rcpt_to: "a@example.org" }] });
    expect(posted.status).toBe(200);
    const batchesOf = async (id: string) =>
      (await sqlRow<{ n: number }>(app.hookd.store, "SELECT CAST(count(*) AS INTEGER) AS n FROM batches WHERE webhook_id = ?", id))!.n;
    // Both receivers were tried and failed, so each webhook has a batch waiting for a retry.
    await r.waitFor((qs) => qs.some((q) => q.path === "/doomed") && qs.some((q) => q.path === "/kept"), 10_000);
    await eventually(async () => (await batchesOf(doomed.id)) === 1 && (await batchesOf(kept.id)) === 1, { timeoutMs: 5_000 });

    expect((await app.api("DELETE", `/webhooks/${doomed.id}`)).status).toBe(204);
    expect(await batchesOf(doomed.id)).toBe(0);
    expect(
      (await sqlRow<{ n: number }>(app.hookd.store, "SELECT CAST(count(*) AS INTEGER) AS n FROM attempts WHERE webhook_id = ?", doomed.id))!
        .n,
    ).toBe(0);
    expect(await batchesOf(kept.id)).toBe(1);
  });
});

describe("changing the target of a test_post webhook", () => {
  test("the new target is test-POSTed; a failing one → 400 and the old target is kept", async () => {
    const app = await t.app();
    const oldTarget = await t.receiver();
    const goodTarget = await t.receiver();
    const badTarget = await t.receiver();
    badTarget.respondWith({ status: 503 });
    const { id, secret } = await create(app, { name: "moving", target: `${oldTarget.url}/a`, events: ["delivery"] });
    expect(oldTarget.requests).toHaveLength(1);

    const bad = await app.api("PATCH", `/webhooks/${id}`, { body: { target: `${badTarget.url}/b`, name: "should-not-stick" } });
    expect(bad.status).toBe(400);
    const { errors } = await errorBody(bad);
    expect(errors[0]).toMatchObject({ code: "verification_failed", field: "target" });
    expect(badTarget.requests).toHaveLength(1);
    let { view } = await getView(app, id);
    expect(view.target).toBe(`${oldTarget.url}/a`);
    expect(view.name).toBe("moving");

    const refused = await t.receiver();
    const refusedUrl = refused.url;
    await refused.close();
    const down = await app.api("PUT", `/webhooks/${id}`, { body: { target: `${refusedUrl}/c` } });
    expect((await errorBody(down)).errors[0]).toMatchObject({ code: "verification_failed", field: "target" });
    ({ view } = await getView(app, id));
    expect(view.target).toBe(`${oldTarget.url}/a`);

    const good = await app.api("PATCH", `/webhooks/${id}`, { body: { target: `${goodTarget.url}/new` } });
    expect(good.status).toBe(200);
    expect(goodTarget.requests).toHaveLength(1);
    const req = goodTarget.requests[0]!;
    expect(req.path).toBe("/new");
    expect(req.headers["webhook-signature"]).toMatch(/^v1,/);
    // Signed with the webhook's existing secret.
    const { Webhook } = await import("standardwebhooks");
    expect(new Webhook(secret).verify(req.body, req.headers)).toBeTruthy();
    ({ view } = await getView(app, id));
    expect(view.target).toBe(`${goodTarget.url}/new`);
    expect(oldTarget.requests).toHaveLength(1);
  });

  test("with verification none a new target is not contacted", async () => {
    const app = await t.app();
    const r = await t.receiver();
    const { id } = await create(app, { name: "quiet", target: "http://127.0.0.1:9/old", events: ["delivery"], verification: "none" });
    const res = await app.api("PATCH", `/webhooks/${id}`, { body: { target: `${r.url}/new` } });
    expect(res.status).toBe(200);
    expect(r.requests).toHaveLength(0);
    expect((await getView(app, id)).view.target).toBe(`${r.url}/new`);
    // The witness: a validate asked for now reaches the new target, alone. A POST the PATCH
    // had started without waiting for it would have come first.
    expect((await app.api("POST", `/webhooks/${id}/validate`, { body: {} })).status).toBe(200);
    expect(r.requests.map((q) => q.path)).toEqual(["/new"]);
  });

  test("switching verification to test_post tests the current target first", async () => {
    const app = await t.app();
    const r = await t.receiver();
    r.respondWith({ status: 500 });
    const { id } = await create(app, { name: "q", target: `${r.url}/t`, events: ["delivery"], verification: "none" });
    const res = await app.api("PATCH", `/webhooks/${id}`, { body: { verification: "test_post" } });
    expect(res.status).toBe(400);
    expect((await errorBody(res)).errors[0]).toMatchObject({ code: "verification_failed", field: "target" });
    expect(r.requests).toHaveLength(1);
    expect((await getView(app, id)).view.verification).toBe("none");
  });
});
