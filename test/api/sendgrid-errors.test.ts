// SendGrid's API refuses in SendGrid's envelope, {"errors":[{"field","message"}]}: missing or
// bad keys (401), missing scopes (403), unknown ids and paths hookd does not serve (404:
// Inbound Parse, security policies), bodies the document does not allow (400).
import { describe, expect, test } from "bun:test";
import { createApiKey } from "../../src/store/sqlite/keys.ts";
import { testResources } from "../helpers/hookd.ts";
import { expectContract, sendGridErrors, sg } from "./sendgrid-helpers.ts";
import { jsonColumn, sqlRow } from "../helpers/store-sql.ts";

const SETTINGS = "/v3/user/webhooks/event/settings";
const ONE = "/v3/user/webhooks/event/settings/{id}";

const res = testResources();

describe("authentication and scopes", () => {
  test("401 without a Bearer key, or with one hookd does not know; SendGrid's ErrorResponse", async () => {
    const app = await res.app();
    for (const key of [null, "hookd_not-a-real-key"]) {
      const r = await sg(app, "GET", `${SETTINGS}/all`, undefined, key);
      expect(r.status).toBe(401);
      expect(r.headers.get("www-authenticate")).toStartWith("Bearer");
      const body = (await expectContract(r.clone(), "GET", "/v3/user/webhooks/event/settings/all")) as {
        errors: { field: null; message: string }[];
      };
      expect(body.errors).toEqual([
        {
          field: null,
          message: key
            ? "The provided authorization grant is invalid, expired, or revoked"
            : expect.stringContaining("authorization required"),
        },
      ]);
      await sendGridErrors(r, 401);
    }
    // SendGrid's scheme is Bearer: a bare key is not taken here.
    const bare = await fetch(`${app.url}${SETTINGS}/all`, { headers: { authorization: app.key } });
    await sendGridErrors(bare, 401);
  });

  test("403 when the key lacks webhooks:read (GETs) or webhooks:write (the rest)", async () => {
    const app = await res.app();
    const rx = await res.receiver();
    const reader = (await app.hookd.store.keys.create("reader", ["webhooks:read"], Date.now())).key;
    const writer = (await app.hookd.store.keys.create("writer", ["webhooks:write"], Date.now())).key;
    const created = (await (await sg(app, "POST", SETTINGS, { url: `${rx.url}/x` })).json()) as { id: string };

    const cases: [string, string, string, unknown, string, string][] = [
      ["POST", SETTINGS, SETTINGS, { url: `${rx.url}/y` }, reader, "webhooks:write"],
      ["PATCH", `${SETTINGS}/${created.id}`, ONE, { url: `${rx.url}/x` }, reader, "webhooks:write"],
      ["DELETE", `${SETTINGS}/${created.id}`, ONE, undefined, reader, "webhooks:write"],
      [
        "PATCH",
        `${SETTINGS}/signed/${created.id}`,
        "/v3/user/webhooks/event/settings/signed/{id}",
        { enabled: true },
        reader,
        "webhooks:write",
      ],
      ["POST", "/v3/user/webhooks/event/test", "/v3/user/webhooks/event/test", { url: `${rx.url}/t` }, reader, "webhooks:write"],
      ["GET", `${SETTINGS}/all`, `${SETTINGS}/all`, undefined, writer, "webhooks:read"],
      ["GET", `${SETTINGS}/${created.id}`, ONE, undefined, writer, "webhooks:read"],
      ["GET", `${SETTINGS}/signed/${created.id}`, "/v3/user/webhooks/event/settings/signed/{id}", undefined, writer, "webhooks:read"],
    ];
    for (const [method, path, template, body, key, scope] of cases) {
      const r = await sg(app, method, path, body, key);
      expect(`${method} ${path} ${r.status}`).toBe(`${method} ${path} 403`);
      const got = (await expectContract(r, method, template)) as { errors: { message: string }[] };
      expect(got.errors[0]!.message).toContain(scope);
    }
    // Nothing was changed or sent by the refused calls.
    expect(rx.requests).toHaveLength(0);
    const all = (await (await sg(app, "GET", `${SETTINGS}/all`, undefined, reader)).json()) as { webhooks: unknown[] };
    expect(all.webhooks).toHaveLength(1);
  });
});

describe("404", () => {
  test('an unknown id: SendGrid\'s "Invalid id provided." on every Event Webhook path', async () => {
    const app = await res.app();
    const signed = "/v3/user/webhooks/event/settings/signed/{id}";
    for (const [method, path, template, body] of [
      ["GET", `${SETTINGS}/nope`, ONE, undefined],
      ["PATCH", `${SETTINGS}/nope`, ONE, { url: "https://example.com/x" }],
      ["DELETE", `${SETTINGS}/nope`, ONE, undefined],
      ["GET", `${SETTINGS}/signed/nope`, signed, undefined],
      ["PATCH", `${SETTINGS}/signed/nope`, signed, { enabled: true }],
    ] as const) {
      const r = await sg(app, method, path, body);
      expect(`${method} ${path} ${r.status}`).toBe(`${method} ${path} 404`);
      expect(await expectContract(r, method, template)).toEqual({ errors: [{ field: "id", message: "Invalid id provided." }] });
    }
    const test404 = await sendGridErrors(
      await sg(app, "POST", "/v3/user/webhooks/event/test", { id: "nope", url: "https://example.com/x" }),
      404,
    );
    expect(test404.errors[0]!.message).toBe("Invalid id provided.");
  });

  test("no id: GET and PATCH with no webhook yet, and DELETE always (it never falls back to the oldest)", async () => {
    const app = await res.app();
    const rx = await res.receiver();
    expect((await sendGridErrors(await sg(app, "GET", SETTINGS), 404)).errors[0]!.message).toContain("no Event Webhook exists yet");
    await sendGridErrors(await sg(app, "GET", `${SETTINGS}/signed`), 404);
    await sendGridErrors(await sg(app, "PATCH", SETTINGS, { url: `${rx.url}/x` }), 404);
    await sg(app, "POST", SETTINGS, { url: `${rx.url}/x` });
    expect((await sendGridErrors(await sg(app, "DELETE", SETTINGS), 404)).errors[0]!.message).toContain("needs the webhook's id");
    expect(((await (await sg(app, "GET", `${SETTINGS}/all`)).json()) as { webhooks: unknown[] }).webhooks).toHaveLength(1);
  });

  test("Inbound Parse, security policies and the rest of /v3: 404 in SendGrid's envelope, after authentication", async () => {
    const app = await res.app();
    for (const [method, path] of [
      ["GET", "/v3/user/webhooks/parse/settings"],
      ["POST", "/v3/user/webhooks/parse/settings"],
      ["GET", "/v3/user/webhooks/parse/settings/parse.example.com"],
      ["PATCH", "/v3/user/webhooks/parse/settings/parse.example.com"],
      ["DELETE", "/v3/user/webhooks/parse/settings/parse.example.com"],
      ["GET", "/v3/user/webhooks/parse/stats"],
      ["POST", "/v3/user/webhooks/security/policies"],
      ["GET", "/v3/user/webhooks/security/policies"],
      ["GET", "/v3/user/webhooks/security/policies/abc"],
      ["PATCH", "/v3/user/webhooks/security/policies/abc"],
      ["DELETE", "/v3/user/webhooks/security/policies/abc"],
      ["POST", "/v3/mail/send"],
      ["GET", "/v3"],
    ] as const) {
      const body = method === "GET" || method === "DELETE" ? undefined : {};
      const r = await sg(app, method, path, body);
      const got = await sendGridErrors(r, 404);
      expect(got.errors[0]!.message).toContain("only the Event Webhook paths");
    }
    // The parse paths are SendGrid's, documented with ErrorResponse for 404.
    expect(
      await expectContract(await sg(app, "GET", "/v3/user/webhooks/parse/settings"), "GET", "/v3/user/webhooks/parse/settings"),
    ).toMatchObject({ errors: [{ field: null }] });
    await sendGridErrors(await sg(app, "GET", "/v3/user/webhooks/parse/settings", undefined, null), 401);
  });
});

describe("400: bodies the document does not allow", () => {
  test("url missing or not a URL (SendGrid's words), a boolean that is not one, JSON that is not JSON", async () => {
    const app = await res.app();
    const missing = await sendGridErrors(await sg(app, "POST", SETTINGS, { delivered: true }), 400);
    expect(missing.errors).toEqual([{ field: "url", message: "url: is required" }]);
    const bad = await sg(app, "POST", SETTINGS, { url: "ftp://example.com/x" });
    expect(await expectContract(bad, "POST", SETTINGS)).toEqual({
      errors: [{ field: "url", message: "'ftp://example.com/x' is not a valid url" }],
    });
    const wrongType = await sendGridErrors(
      await sg(app, "POST", SETTINGS, { url: "https://example.com/x", delivered: "yes", friendly_name: 7 }),
      400,
    );
    expect(wrongType.errors.map((e) => e.field)).toEqual(["delivered", "friendly_name"]);
    expect(wrongType.errors[0]!.message).toBe('delivered: expected boolean, got "yes"');
    const notJson = await fetch(`${app.url}${SETTINGS}`, {
      method: "POST",
      headers: { authorization: `Bearer ${app.key}`, "content-type": "application/json" },
      body: "{url:",
    });
    expect((await sendGridErrors(notJson, 400)).errors).toEqual([{ field: null, message: "request body is not valid JSON" }]);
    const signedBody = await sendGridErrors(await sg(app, "PATCH", `${SETTINGS}/signed/x`, {}), 400);
    expect(signedBody.errors[0]!.field).toBe("enabled");
    expect(((await (await sg(app, "GET", `${SETTINGS}/all`)).json()) as { webhooks: unknown[] }).webhooks).toEqual([]);
  });

  test("fields the document does not list are dropped, as its open schemas allow", async () => {
    const app = await res.app();
    const rx = await res.receiver();
    const r = await sg(app, "POST", SETTINGS, { url: `${rx.url}/x`, delivered: true, not_a_setting: true, format: "hookd" });
    const created = (await expectContract(r, "POST", SETTINGS)) as Record<string, unknown>;
    expect(created.not_a_setting).toBeUndefined();
    const view = (await (
      await fetch(`${app.url}/api/v1/webhooks/${created.id}`, { headers: { authorization: `Bearer ${app.key}` } })
    ).json()) as { results: { format: string } };
    expect(view.results.format).toBe("sendgrid");
  });

  test("one webhook per URL: SendGrid's \"already exists\" with the other webhook's id", async () => {
    const app = await res.app();
    const rx = await res.receiver();
    const first = (await (await sg(app, "POST", SETTINGS, { url: `${rx.url}/same` })).json()) as { id: string };
    const second = (await (await sg(app, "POST", SETTINGS, { url: `${rx.url}/other` })).json()) as { id: string };
    const url = `${rx.url}/same`;
    const exists = {
      errors: [{ field: "url", id: first.id, url, message: `Webhook at '${url}' already exists. Please provide a unique URL.` }],
    };
    expect(await expectContract(await sg(app, "POST", SETTINGS, { url }), "POST", SETTINGS)).toEqual(exists);
    expect(await expectContract(await sg(app, "PATCH", `${SETTINGS}/${second.id}`, { url }), "PATCH", ONE)).toEqual(exists);
    // Its own URL again is no conflict.
    expect((await sg(app, "PATCH", `${SETTINGS}/${first.id}`, { url, open: true })).status).toBe(200);
  });

  test("PATCH needs url, as the document's request schema says; what is left out stays", async () => {
    const app = await res.app();
    const rx = await res.receiver();
    const created = (await (
      await sg(app, "POST", SETTINGS, { url: `${rx.url}/x`, enabled: true, open: true, friendly_name: "Opens" })
    ).json()) as { id: string };
    expect((await sendGridErrors(await sg(app, "PATCH", `${SETTINGS}/${created.id}`, { open: false }), 400)).errors[0]!.field).toBe("url");
    const patched = (await expectContract(
      await sg(app, "PATCH", `${SETTINGS}/${created.id}`, { url: `${rx.url}/x`, click: true }),
      "PATCH",
      ONE,
    )) as Record<string, unknown>;
    expect(patched).toMatchObject({ enabled: true, open: true, click: true, friendly_name: "Opens" });
  });
});

describe("OAuth fields", () => {
  test("the document's pairing rules; the secret is kept, never read back, and needed again when a URL moves origin; empty strings turn OAuth off", async () => {
    const app = await res.app();
    const rx = await res.receiver();
    const other = await res.receiver();
    const token = `${rx.url}/token`;
    const field = async (r: Response) => (await sendGridErrors(r, 400)).errors[0]!.field;
    expect(await field(await sg(app, "POST", SETTINGS, { url: `${rx.url}/a`, oauth_client_id: "cid", oauth_client_secret: "s" }))).toBe(
      "oauth_token_url",
    );
    expect(await field(await sg(app, "POST", SETTINGS, { url: `${rx.url}/a`, oauth_token_url: token, oauth_client_secret: "s" }))).toBe(
      "oauth_client_id",
    );
    expect(await field(await sg(app, "POST", SETTINGS, { url: `${rx.url}/a`, oauth_client_id: "cid", oauth_token_url: token }))).toBe(
      "oauth_client_secret",
    );
    expect(await field(await sg(app, "POST", SETTINGS, { url: `${rx.url}/a`, oauth_client_secret: "s" }))).toBe("oauth_client_secret");
    expect(
      await field(
        await sg(app, "POST", SETTINGS, {
          url: `${rx.url}/a`,
          oauth_client_id: "cid",
          oauth_client_secret: "s",
          oauth_token_url: "not a url",
        }),
      ),
    ).toBe("oauth_token_url");

    const created = (await (
      await sg(app, "POST", SETTINGS, {
        url: `${rx.url}/a`,
        oauth_client_id: "cid",
        oauth_client_secret: "s3cr3t-value",
        oauth_token_url: token,
      })
    ).json()) as { id: string };
    // New client id, same token URL, no secret: the stored secret stays (hookd's API shows it redacted).
    const patched = (await expectContract(
      await sg(app, "PATCH", `${SETTINGS}/${created.id}`, { url: `${rx.url}/a`, oauth_client_id: "cid-2", oauth_token_url: token }),
      "PATCH",
      ONE,
    )) as Record<string, unknown>;
    expect(patched).toMatchObject({ oauth_client_id: "cid-2", oauth_token_url: token });
    expect(JSON.stringify(patched)).not.toContain("s3cr3t-value");
    const row = (await sqlRow<{ auth_type: string; auth_request_details: unknown }>(
      app.hookd.store,
      "SELECT auth_type, auth_request_details FROM webhooks WHERE id = ?",
      created.id,
    ))!;
    expect(row.auth_type).toBe("oauth2");
    expect(jsonColumn<unknown>(row.auth_request_details)).toEqual({
      url: token,
      body: { client_id: "cid-2", client_secret: "s3cr3t-value" },
    });

    // The token URL to another origin, or the webhook's url to another origin: the secret again.
    expect(
      await field(
        await sg(app, "PATCH", `${SETTINGS}/${created.id}`, {
          url: `${rx.url}/a`,
          oauth_client_id: "cid-2",
          oauth_token_url: `${other.url}/token`,
        }),
      ),
    ).toBe("oauth_client_secret");
    expect(await field(await sg(app, "PATCH", `${SETTINGS}/${created.id}`, { url: `${other.url}/a` }))).toBe("oauth_client_secret");
    expect(
      await field(
        await sg(app, "PATCH", `${SETTINGS}/${created.id}`, {
          url: `${rx.url}/a`,
          oauth_client_id: "cid-2",
          oauth_client_secret: "********",
          oauth_token_url: `${other.url}/token`,
        }),
      ),
    ).toBe("oauth_client_secret");
    const moved = (await expectContract(
      await sg(app, "PATCH", `${SETTINGS}/${created.id}`, {
        url: `${other.url}/a`,
        oauth_client_id: "cid-3",
        oauth_client_secret: "new-secret",
        oauth_token_url: `${other.url}/token`,
      }),
      "PATCH",
      ONE,
    )) as Record<string, unknown>;
    expect(moved).toMatchObject({ url: `${other.url}/a`, oauth_token_url: `${other.url}/token` });

    const off = (await expectContract(
      await sg(app, "PATCH", `${SETTINGS}/${created.id}`, {
        url: `${other.url}/a`,
        oauth_client_id: "",
        oauth_client_secret: "",
        oauth_token_url: "",
      }),
      "PATCH",
      ONE,
    )) as Record<string, unknown>;
    expect(off.oauth_client_id).toBeUndefined();
    expect(off.oauth_token_url).toBeUndefined();
    const after = await sqlRow(app.hookd.store, "SELECT auth_type, auth_request_details FROM webhooks WHERE id = ?", created.id);
    expect(after).toEqual({ auth_type: "none", auth_request_details: null });
    expect(rx.requests).toHaveLength(0);
    expect(other.requests).toHaveLength(0);
  });
});

describe("hookd's own limits, in SendGrid's envelope", () => {
  test("private targets refused when allow_private_targets is false (create, PATCH, test)", async () => {
    const app = await res.app({ security: { allow_private_targets: false } });
    for (const [method, path] of [
      ["POST", SETTINGS],
      ["POST", "/v3/user/webhooks/event/test"],
    ] as const) {
      const got = await sendGridErrors(await sg(app, method, path, { url: "http://127.0.0.1:9/x" }), 400);
      expect(got.errors[0]!.field).toBe("url");
      expect(got.errors[0]!.message).toStartWith("url: ");
    }
  });

  test("a body over server.max_body_size: 413", async () => {
    const app = await res.app({ server: { max_body_size: 1000 } });
    const got = await sendGridErrors(
      await sg(app, "POST", SETTINGS, { url: "https://example.com/x", friendly_name: "x".repeat(2000) }),
      413,
    );
    expect(got.errors[0]!.message).toContain("max_body_size");
  });
});
