import { describe, expect, test } from "bun:test";
import { createApiKey, revokeApiKey } from "../../src/store/sqlite/keys.ts";
import { type Scope } from "../../src/store/api-keys.ts";
import { errorBody, testResources, type TestApp } from "../helpers/hookd.ts";

const t = testResources();

// Targets here are never contacted: every body is refused before any test POST.
const TARGET = "http://127.0.0.1:9/hook";
const valid = { name: "w", target: TARGET, events: ["delivery"] };

async function expectError(res: Response, status: number, code: string, field?: string) {
  const text = await res.clone().text();
  expect(`${res.status} ${text}`).toStartWith(`${status} `);
  const { errors } = await errorBody(res);
  const item = field === undefined ? errors[0]! : errors.find((e) => e.field === field);
  expect(item ? { code: item.code, field: item.field } : text).toEqual({ code, field });
  return item!;
}

describe("request body validation on POST /webhooks", () => {
  test("malformed or empty JSON → 400 malformed_json, on webhooks and events", async () => {
    const app = await t.app();
    for (const raw of ["{bad", '{"name": "w",}', "", "[1,"]) {
      const item = await expectError(await app.api("POST", "/webhooks", { rawBody: raw }), 400, "malformed_json");
      expect(item.message).toContain("JSON");
    }
    await expectError(await app.api("POST", "/events", { rawBody: '[{"type":' }), 400, "malformed_json");
    const list = (await (await app.api("GET", "/webhooks")).json()) as { results: unknown[] };
    expect(list.results).toEqual([]);
  });

  const cases: { name: string; body: unknown; code: string; field: string; mentions?: string }[] = [
    { name: "name: 5", body: { ...valid, name: 5 }, code: "invalid_type", field: "name" },
    { name: "empty name", body: { ...valid, name: "" }, code: "too_small", field: "name" },
    { name: "events as a string", body: { ...valid, events: "delivery" }, code: "invalid_type", field: "events" },
    { name: "active: 'yes'", body: { ...valid, active: "yes" }, code: "invalid_type", field: "active" },
    { name: "missing target", body: { name: "w", events: ["delivery"] }, code: "required", field: "target" },
    { name: "missing name", body: { target: TARGET, events: ["delivery"] }, code: "required", field: "name" },
    { name: "unknown top-level field", body: { ...valid, colour: "blue" }, code: "unknown_field", field: "colour" },
    {
      name: "unknown nested field",
      body: { ...valid, auth_type: "basic", auth_credentials: { username: "u", password: "p", realm: "x" } },
      code: "unknown_field",
      field: "auth_credentials.realm",
      mentions: "realm",
    },
    {
      name: "unknown filter key",
      body: { ...valid, filter: { domains: ["example.com"] } },
      code: "unknown_field",
      field: "filter.domains",
      mentions: "domains",
    },
    { name: "ftp:// target", body: { ...valid, target: "ftp://files.example.com/hook" }, code: "invalid_url", field: "target" },
    { name: "'not a url' target", body: { ...valid, target: "not a url" }, code: "invalid_url", field: "target" },
    { name: "javascript: target", body: { ...valid, target: "javascript:alert(1)" }, code: "invalid_url", field: "target" },
    { name: "empty events", body: { ...valid, events: [] }, code: "too_small", field: "events" },
    { name: "unknown event type", body: { ...valid, events: ["delivery", "teleported"] }, code: "invalid_value", field: "events[1]" },
    { name: "unknown first event type", body: { ...valid, events: ["nope"] }, code: "invalid_value", field: "events[0]" },
    { name: "unknown auth_type", body: { ...valid, auth_type: "magic" }, code: "invalid_value", field: "auth_type" },
    { name: "unknown format", body: { ...valid, format: "mailgun" }, code: "invalid_value", field: "format" },
    { name: "unknown verification", body: { ...valid, verification: "maybe" }, code: "invalid_value", field: "verification" },
    { name: "batch_max_events 0", body: { ...valid, batch_max_events: 0 }, code: "too_small", field: "batch_max_events" },
    { name: "batch_max_wait 'soon'", body: { ...valid, batch_max_wait: "soon" }, code: "invalid_format", field: "batch_max_wait" },
    {
      name: "auth_request_details.url not http",
      body: { ...valid, auth_type: "oauth2", auth_request_details: { url: "ftp://x", body: { client_id: "a", client_secret: "b" } } },
      code: "invalid_url",
      field: "auth_request_details.url",
    },
  ];
  for (const c of cases) {
    test(`${c.name} → 400 ${c.code} on ${c.field}, named in the message`, async () => {
      const app = await t.app();
      const res = await app.api("POST", "/webhooks", { body: c.body });
      const item = await expectError(res, 400, c.code, c.field);
      expect(item.message).toContain(c.mentions ?? c.field);
      // Nothing was created.
      const list = (await (await app.api("GET", "/webhooks")).json()) as { results: unknown[] };
      expect(list.results).toEqual([]);
    });
  }

  test("several mistakes are reported together", async () => {
    const app = await t.app();
    const res = await app.api("POST", "/webhooks", { body: { name: 5, target: "ftp://x", events: [], extra: true } });
    expect(res.status).toBe(400);
    const fields = (await errorBody(res)).errors.map((e) => e.field).sort();
    expect(fields).toEqual(["events", "extra", "name", "target"]);
  });

  test("a JSON array or scalar instead of an object → 400 invalid_type", async () => {
    const app = await t.app();
    for (const body of [[valid], "w", 5, null]) {
      const res = await app.api("POST", "/webhooks", { body });
      await expectError(res, 400, "invalid_type");
    }
  });
});

describe("body size", () => {
  test("a body over server.max_body_size → 413 payload_too_large, on webhooks and events", async () => {
    const app = await t.app({ server: { max_body_size: 1000 } });
    const big = JSON.stringify({ ...valid, name: "x".repeat(5000) });
    const res = await app.api("POST", "/webhooks", { rawBody: big });
    const item = await expectError(res, 413, "payload_too_large");
    expect(item.message).toContain("max_body_size");

    const events = JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ type: "open", rcpt_to: `user${i}@example.com` })));
    expect(events.length).toBeGreaterThan(1000);
    await expectError(await app.api("POST", "/events", { rawBody: events }), 413, "payload_too_large");
    const list = (await (await app.api("GET", "/events")).json()) as { results: unknown[] };
    expect(list.results).toEqual([]);

    // Without a Content-Length (chunked), the limit holds as well.
    const bytes = new TextEncoder().encode(events);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.subarray(0, 600));
        c.enqueue(bytes.subarray(600));
        c.close();
      },
    });
    const chunked = await fetch(`${app.url}/api/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${app.key}`, "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    await expectError(chunked, 413, "payload_too_large");
    expect(((await (await app.api("GET", "/events")).json()) as { results: unknown[] }).results).toEqual([]);

    // A body under the limit still works.
    const small = await app.api("POST", "/events", { body: [{ type: "open", rcpt_to: "a@example.com" }] });
    expect(small.status).toBe(200);
  });
});

describe("authentication and scopes", () => {
  const keyWith = (app: TestApp, scopes: Scope[]) => app.hookd.store.keys.create(`k-${scopes.join("+")}`, scopes, Date.now());

  test("no Authorization header → 401 with the envelope and WWW-Authenticate", async () => {
    const app = await t.app();
    for (const [method, path] of [
      ["GET", "/webhooks"],
      ["POST", "/webhooks"],
      ["GET", "/events"],
      ["POST", "/events"],
      ["GET", "/webhooks/x"],
    ] as const) {
      const res = await app.api(method, path, { key: null, body: method === "POST" ? valid : undefined });
      await expectError(res, 401, "unauthorized", "Authorization");
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
    }
  });

  test("an invalid key → 401, bare or Bearer, and the error does not echo the key", async () => {
    const app = await t.app();
    const wrong = app.key.slice(0, -2) + (app.key.endsWith("AA") ? "BB" : "AA");
    for (const header of [wrong, `Bearer ${wrong}`, "Bearer", "Basic dXNlcjpwYXNz", `Bearer ${app.key} extra`]) {
      const res = await app.api("GET", "/webhooks", { headers: { authorization: header } });
      const text = await res.clone().text();
      await expectError(res, 401, "unauthorized", "Authorization");
      expect(text).not.toContain(wrong);
    }
    // The right key, both ways, for contrast.
    expect((await app.api("GET", "/webhooks", { headers: { authorization: app.key } })).status).toBe(200);
    expect((await app.api("GET", "/webhooks", { headers: { authorization: `bearer ${app.key}` } })).status).toBe(200);
  });

  test("a revoked key → 401 (it worked before revocation)", async () => {
    const app = await t.app();
    const { key, info } = await keyWith(app, ["webhooks:read"]);
    expect((await app.api("GET", "/webhooks", { key })).status).toBe(200);
    await app.hookd.store.keys.revoke(info.id, Date.now());
    await expectError(await app.api("GET", "/webhooks", { key }), 401, "unauthorized", "Authorization");
  });

  test("webhooks:read cannot create, change or delete webhooks → 403 naming the scope", async () => {
    const app = await t.app();
    const r = await t.receiver();
    const created = (await (await app.api("POST", "/webhooks", { body: { ...valid, target: r.url } })).json()) as {
      results: { id: string };
    };
    const id = created.results.id;
    const { key } = await keyWith(app, ["webhooks:read"]);
    expect((await app.api("GET", "/webhooks", { key })).status).toBe(200);
    expect((await app.api("GET", `/webhooks/${id}`, { key })).status).toBe(200);
    const before = r.requests.length;
    for (const [method, path, body] of [
      ["POST", "/webhooks", { ...valid, target: r.url }],
      ["PUT", `/webhooks/${id}`, { name: "changed" }],
      ["PATCH", `/webhooks/${id}`, { name: "changed" }],
      ["DELETE", `/webhooks/${id}`, undefined],
    ] as const) {
      const item = await expectError(await app.api(method, path, { key, body }), 403, "forbidden");
      expect(item.message).toContain("webhooks:write");
    }
    expect(r.requests.length).toBe(before);
    const view = (await (await app.api("GET", `/webhooks/${id}`)).json()) as { results: { name: string } };
    expect(view.results.name).toBe("w");
  });

  test("events:read cannot POST /events; events:write cannot read events or webhooks", async () => {
    const app = await t.app();
    const reader = (await keyWith(app, ["events:read"])).key;
    const writer = (await keyWith(app, ["events:write"])).key;
    const item = await expectError(
      await app.api("POST", "/events", { key: reader, body: [{ type: "open", rcpt_to: "a@example.com" }] }),
      403,
      "forbidden",
    );
    expect(item.message).toContain("events:write");
    expect(((await (await app.api("GET", "/events", { key: reader })).json()) as { results: unknown[] }).results).toEqual([]);

    expect((await app.api("POST", "/events", { key: writer, body: [{ type: "open", rcpt_to: "a@example.com" }] })).status).toBe(200);
    expect((await expectError(await app.api("GET", "/events", { key: writer }), 403, "forbidden")).message).toContain("events:read");
    expect((await expectError(await app.api("GET", "/webhooks", { key: writer }), 403, "forbidden")).message).toContain("webhooks:read");
    await expectError(await app.api("POST", "/webhooks", { key: writer, body: valid }), 403, "forbidden");
  });
});

describe("not found", () => {
  test("an unknown webhook id → 404 not_found on GET, PUT, PATCH, DELETE", async () => {
    const app = await t.app();
    for (const method of ["GET", "PUT", "PATCH", "DELETE"]) {
      const res = await app.api(method, "/webhooks/01nosuchwebhook", {
        body: method === "PUT" || method === "PATCH" ? { name: "x" } : undefined,
      });
      const item = await expectError(res, 404, "not_found", "id");
      expect(item.message).toContain("01nosuchwebhook");
    }
  });

  test("an unknown route → 404 in the same envelope, inside and outside /api/v1", async () => {
    const app = await t.app();
    for (const url of [`${app.url}/nope`, `${app.url}/api/v1/nope`, `${app.url}/api/v2/webhooks`]) {
      const res = await fetch(url, { headers: { authorization: `Bearer ${app.key}` } });
      const item = await expectError(res, 404, "not_found");
      expect(item.message).toContain(new URL(url).pathname);
    }
  });
});
