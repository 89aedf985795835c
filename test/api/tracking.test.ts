import { describe, expect, test } from "bun:test";
import { createApiKey } from "../../src/store/sqlite/keys.ts";
import { errorBody, testResources, type TestApp } from "../helpers/hookd.ts";
import { sqlRow, sqlRows, sqlRun } from "../helpers/store-sql.ts";

// POST /tracking/rewrite, GET /tracking/stats and POST /tracking/keys/rotate: answers, errors
// and scopes. (The links themselves are followed in test/track/hookd.test.ts.)

const t = testResources();
const HTML = '<html><body><a href="https://example.com/a?x=1&amp;y=2">A</a><a href="#top">top</a></body></html>';

async function rewrite(app: TestApp, body: unknown, key?: string) {
  const res = await app.api("POST", "/tracking/rewrite", { body, ...(key ? { key } : {}) });
  return { res, text: await res.text() };
}

const ok = (r: { res: Response; text: string }) => {
  expect(`${r.res.status} ${r.text.slice(0, 300)}`).toStartWith("200 ");
  return (JSON.parse(r.text) as { results: { html: string; headers: Record<string, string> } }).results;
};

const rows = async (app: TestApp) =>
  (await sqlRows<{ data: string }>(app.hookd.store, "SELECT data FROM tracked_messages ORDER BY id")).map((r) => JSON.parse(r.data));

describe("POST /tracking/rewrite", () => {
  test("tracked HTML and List-Unsubscribe headers; campaign data stored once per call, only when given", async () => {
    // base_url without a listener: the links may be served by another node.
    const app = await t.app({ tracking: { base_url: "https://t.example.com/track/" } });
    const r = ok(
      await rewrite(app, {
        html: HTML,
        rcpt_to: "alice@example.org",
        message_id: "m1@example.com",
        campaign_id: "spring",
        tags: ["a"],
        metadata: { k: 1 },
      }),
    );
    expect(r.html).toMatch(
      /^<html><body><a href="https:\/\/t\.example\.com\/track\/c\/[A-Za-z0-9_-]+">A<\/a><a href="#top">top<\/a><img src="https:\/\/t\.example\.com\/track\/o\/[A-Za-z0-9_-]+" [^>]*\/><\/body><\/html>$/,
    );
    expect(Object.keys(r.headers)).toEqual(["List-Unsubscribe", "List-Unsubscribe-Post"]);
    expect(r.headers["List-Unsubscribe"]).toMatch(/^<https:\/\/t\.example\.com\/track\/u\/[A-Za-z0-9_-]+>$/);
    expect(await rows(app)).toEqual([{ campaign_id: "spring", tags: ["a"], metadata: { k: 1 } }]);
    // No campaign data and a Message-ID to name the message: no row.
    ok(await rewrite(app, { html: HTML, rcpt_to: "bob@example.org", message_id: "m2@example.com" }));
    expect(await rows(app)).toHaveLength(1);
    // Nothing names the message but the call itself: a row, so its tokens can name it.
    ok(await rewrite(app, { html: HTML, rcpt_to: "carol@example.org" }));
    expect(await rows(app)).toHaveLength(2);
  });

  test("[tracking] opens, clicks and unsubscribe switch their part off; an http base_url gets no one-click header", async () => {
    const app = await t.app({ tracking: { base_url: "http://t.example.com", opens: false, clicks: true, unsubscribe: true } });
    const r = ok(await rewrite(app, { html: HTML, rcpt_to: "alice@example.org", message_id: "m1@example.com" }));
    expect(r.html).not.toContain("<img");
    expect(r.html).toContain('href="http://t.example.com/c/');
    expect(Object.keys(r.headers)).toEqual(["List-Unsubscribe"]);
    const off = await t.app({ tracking: { base_url: "https://t.example.com", opens: true, clicks: false, unsubscribe: false } });
    const r2 = ok(await rewrite(off, { html: HTML, rcpt_to: "alice@example.org", message_id: "m1@example.com" }));
    expect(r2.html).toContain('<a href="https://example.com/a?x=1&amp;y=2">A</a>');
    expect(r2.html).toContain('<img src="https://t.example.com/o/');
    expect(r2.headers).toEqual({});
  });

  test("409 when tracking is not configured; nothing stored", async () => {
    const app = await t.app();
    const r = await rewrite(app, { html: HTML, rcpt_to: "alice@example.org", campaign_id: "x" });
    expect(r.res.status).toBe(409);
    expect((await errorBody(new Response(r.text))).errors[0]).toEqual({
      message: "tracking is not configured: set [tracking] base_url (and listen, to serve the links) in hookd.toml",
      code: "conflict",
    });
    expect(await rows(app)).toEqual([]);
  });

  test("400 naming the field: recipient missing or malformed, unknown field, HTML too large, a Message-ID a link cannot carry", async () => {
    const app = await t.app({ tracking: { base_url: "https://t.example.com" } });
    const cases: [unknown, string][] = [
      [{ html: HTML }, "rcpt_to"],
      [{ html: HTML, rcpt_to: "not an address" }, "rcpt_to"],
      [{ html: HTML, rcpt_to: "a@example.org", track: true }, "track"],
      [{ html: "x".repeat(2_000_001), rcpt_to: "a@example.org" }, "html"],
      [{ html: HTML, rcpt_to: "a@example.org", message_id: "a\u0001b@example.com" }, "message_id"],
      [{ html: HTML, rcpt_to: "a@example.org", tags: "spring" }, "tags"],
    ];
    for (const [body, field] of cases) {
      const r = await rewrite(app, body);
      expect([field, r.res.status]).toEqual([field, 400]);
      expect((await errorBody(new Response(r.text))).errors.map((e) => e.field)).toContain(field);
    }
    expect(await rows(app)).toEqual([]);
  });

  test("needs events:write", async () => {
    const app = await t.app({ tracking: { base_url: "https://t.example.com" } });
    const reader = (await app.hookd.store.keys.create("reader", ["events:read", "webhooks:write"], Date.now())).key;
    expect((await rewrite(app, { html: HTML, rcpt_to: "a@example.org" }, reader)).res.status).toBe(403);
    expect((await app.api("POST", "/tracking/rewrite", { key: null, body: { html: HTML, rcpt_to: "a@example.org" } })).status).toBe(401);
  });
});

describe("GET /tracking/stats", () => {
  test("60 one-minute buckets by default, 24 hours for day; recorded counts land in their minute", async () => {
    const app = await t.app();
    const minute = Math.floor(Date.now() / 60_000);
    await sqlRun(
      app.hookd.store,
      "INSERT INTO tracking_minutes (minute, opens, machine_opens, clicks, machine_clicks, unsubscribes) VALUES (?, 5, 2, 3, 1, 1), (?, 1, 0, 0, 0, 0)",
      minute,
      minute - 120,
    );
    const hour = (await (await app.api("GET", "/tracking/stats")).json()) as {
      results: { range: string; bucket_seconds: number; buckets: Record<string, number | string>[] };
    };
    expect([hour.results.range, hour.results.bucket_seconds, hour.results.buckets.length]).toEqual(["hour", 60, 60]);
    expect(hour.results.buckets.at(-1)).toEqual({
      start: new Date(minute * 60_000).toISOString(),
      opens: 5,
      machine_opens: 2,
      clicks: 3,
      machine_clicks: 1,
      unsubscribes: 1,
    });
    expect(hour.results.buckets.slice(0, -1).every((b) => b.opens === 0)).toBe(true);
    const day = (await (await app.api("GET", "/tracking/stats?range=day")).json()) as { results: { buckets: { opens: number }[] } };
    expect(day.results.buckets).toHaveLength(24);
    expect(day.results.buckets.reduce((n, b) => n + b.opens, 0)).toBe(6);
    const bad = await app.api("GET", "/tracking/stats?range=year");
    expect(bad.status).toBe(400);
    expect((await errorBody(bad)).errors[0]!.field).toBe("range");
  });
});

describe("POST /tracking/keys/rotate", () => {
  test("needs webhooks:write; answers key ids, never key material", async () => {
    const app = await t.app();
    const writer = (await app.hookd.store.keys.create("writer", ["events:write", "events:read"], Date.now())).key;
    expect((await app.api("POST", "/tracking/keys/rotate", { key: writer })).status).toBe(403);
    const res = await app.api("POST", "/tracking/keys/rotate");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: { id: number; current: boolean }[] };
    expect(body.results.map((k) => [k.id, k.current])).toEqual([
      [1, true],
      [0, false],
    ]);
    const stored = (await sqlRow<{ ring: string }>(app.hookd.store, "SELECT ring FROM tracking_keyring"))!.ring;
    for (const k of (JSON.parse(stored) as { keys: { secret: string }[] }).keys) {
      expect(JSON.stringify(body)).not.toContain(k.secret);
      expect(await (await fetch(`${app.url}/metrics`)).text()).not.toContain(k.secret);
    }
  });
});
