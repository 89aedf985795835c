import { describe, expect, test } from "bun:test";
import os from "node:os";
import { eventually } from "../helpers/eventually.ts";
import { startHookd } from "../../src/app.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { tempDir, testConfig, testResources } from "../helpers/hookd.ts";
import { ensureKeyring, rotateStoredKeyring } from "../../src/track/keystore.ts";
import { trackMessage } from "../../src/track/message.ts";
import { BASE, createWebhook, FIREFOX, linksOf, received, tracked, trackingConfig, untilMarker, type Received } from "./helpers.ts";

// The whole hookd over real HTTP on 127.0.0.1: POST /tracking/rewrite makes a message's links,
// the tracking listener (its own thread) records hits, and the events reach a real receiver
// through a webhook like every other event.

const t = testResources();

const HTML =
  '<!doctype html><html><body><p>Hello</p><a href="https://shop.example.com/sale?cat=shoes&amp;sort=price">Sale</a>\n' +
  '<a href="https://example.com/blog" data-hookd-notrack>Blog</a> <a href="mailto:help@example.com">Help</a></body></html>';
const MESSAGE = {
  html: HTML,
  rcpt_to: "alice@example.org",
  message_id: "20261123.4BCD2@example.com",
  campaign_id: "spring-sale",
  tags: ["newsletter", "eu"],
  metadata: { customer: "42", tier: 2 },
};

async function setup(tracking: Record<string, unknown> = {}) {
  const app = await tracked(await t.app(trackingConfig(tracking)));
  const r = await t.receiver();
  await createWebhook(app, r);
  return { app, r };
}

function engagement(events: Received[]) {
  return events.filter((e) => ["open", "click", "list_unsubscribe"].includes(e.type));
}

describe("a rewritten message, end to end", () => {
  test("its pixel, its link and its unsubscribe URL each give exactly their event, with the message's fields", async () => {
    const { app, r } = await setup();
    const out = await app.rewrite(MESSAGE);
    // The part: one tracked link (the marked and mailto: ones kept), the pixel before </body>.
    const { clicks, pixel } = linksOf(out.html);
    expect(clicks).toHaveLength(1);
    expect(out.html).toContain('<a href="https://example.com/blog">Blog</a>');
    expect(out.html).toContain('<a href="mailto:help@example.com">Help</a>');
    expect(out.html).toMatch(/<img src="https:\/\/t\.example\.com\/o\/[^"]+"[^>]*\/><\/body>/);
    const unsubscribe = /^<(https:\/\/t\.example\.com\/u\/[A-Za-z0-9_-]+)>$/.exec(out.headers["List-Unsubscribe"]!)?.[1];
    expect(unsubscribe).toBeDefined();
    expect(out.headers["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
    expect(clicks[0]!.length).toBeLessThan(250);

    const px = await app.hit(pixel!);
    expect([px.status, px.headers.get("content-type"), px.headers.get("cache-control")?.includes("no-store")]).toEqual([
      200,
      "image/gif",
      true,
    ]);
    const click = await app.hit(clicks[0]!);
    expect([click.status, click.headers.get("location")]).toEqual([302, "https://shop.example.com/sale?cat=shoes&sort=price"]);
    const one = await app.hit(unsubscribe!, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "List-Unsubscribe=One-Click",
    });
    expect(one.status).toBe(200);

    await eventually(() => engagement(received(r)).length >= 3);
    const events = engagement(await untilMarker(app, r, "e2e"));
    const common = {
      host: os.hostname(),
      message_id: MESSAGE.message_id,
      rcpt_to: MESSAGE.rcpt_to,
      campaign_id: MESSAGE.campaign_id,
      tags: MESSAGE.tags,
      metadata: MESSAGE.metadata,
      user_agent: FIREFOX,
      ip: "127.0.0.1",
      first: true,
      machine: false,
    };
    const shape = (e: Received) => {
      const { event_id: _id, timestamp: _ts, ...rest } = e;
      return rest;
    };
    expect(events.map(shape)).toEqual([
      { type: "open", ...common },
      { type: "click", ...common, url: "https://shop.example.com/sale?cat=shoes&sort=price" },
      { type: "list_unsubscribe", ...common },
    ]);
    expect("queue_id" in events[0]!).toBe(false); // the API names no queue id; the milter will
    for (const e of events) expect(Date.now() - Date.parse(e.timestamp as string)).toBeLessThan(60_000);
  });

  test("a message tracked with its queue id and host (as the milter will track mail): both on its events", async () => {
    const { app, r } = await setup();
    const keyring = await ensureKeyring(app.hookd.store);
    const out = await trackMessage(
      app.hookd.store,
      { html: HTML, rcpt_to: "bob@example.org", queue_id: "4BCD21C03F2", host: "mx1.example.com", campaign_id: "spring-sale" },
      { settings: { baseUrl: BASE, opens: true, clicks: true, unsubscribe: true }, keyring, now: Date.now() },
    );
    const { clicks } = linksOf(out.html);
    expect((await app.hit(clicks[0]!)).status).toBe(302);
    await eventually(() => engagement(received(r)).length >= 1);
    expect(engagement(received(r))[0]).toMatchObject({
      type: "click",
      queue_id: "4BCD21C03F2",
      host: "mx1.example.com",
      rcpt_to: "bob@example.org",
      campaign_id: "spring-sale",
    });
    expect("message_id" in engagement(received(r))[0]!).toBe(false);
  });

  test("a second open and click of the same message are not first; a scanner's are kept, marked machine", async () => {
    const { app, r } = await setup();
    const { clicks, pixel } = linksOf((await app.rewrite(MESSAGE)).html);
    await app.hit(pixel!);
    await app.hit(pixel!, {
      headers: { "user-agent": "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)" },
    });
    await app.hit(clicks[0]!, { method: "HEAD" });
    await app.hit(clicks[0]!);
    await eventually(() => engagement(received(r)).length >= 4);
    const events = engagement(await untilMarker(app, r, "again"));
    expect(events.map((e) => [e.type, e.first, e.machine, e.machine_reason])).toEqual([
      ["open", true, false, undefined],
      ["open", false, true, "gmail_image_proxy"],
      ["click", true, true, "head"],
      ["click", false, false, undefined],
    ]);
  });

  test("filter {machine: false} leaves machine-marked events out; a webhook without it gets them all", async () => {
    const { app, r: all } = await setup();
    const humans = await t.receiver();
    await createWebhook(app, humans, { name: "humans only", filter: { machine: false } });
    const { clicks, pixel } = linksOf((await app.rewrite(MESSAGE)).html);
    await app.hit(pixel!, { headers: { "user-agent": "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html" } });
    await app.hit(clicks[0]!, { headers: { "sec-purpose": "prefetch" } });
    await app.hit(pixel!);
    await app.hit(clicks[0]!);
    await eventually(() => engagement(received(all)).length >= 4);
    const types = (events: Received[]) => engagement(events).map((e) => `${e.type}${e.machine ? " (machine)" : ""}`);
    expect(types(await untilMarker(app, all, "all"))).toEqual(["open (machine)", "click (machine)", "open", "click"]);
    expect(types(await untilMarker(app, humans, "humans"))).toEqual(["open", "click"]);
  });
});

describe("nothing from a link that was not signed as it is", () => {
  test("a tampered token, a swapped destination and a rotated-out key: 404, no event", async () => {
    const { app, r } = await setup();
    const { clicks, pixel } = linksOf((await app.rewrite(MESSAGE)).html);
    const click = clicks[0]!;
    // One changed character, anywhere in the token.
    const token = click.slice(`${BASE}/c/`.length);
    for (const at of [0, 5, Math.floor(token.length / 2), token.length - 1]) {
      const c = token[at] === "A" ? "B" : "A";
      const res = await app.hit(`${BASE}/c/${token.slice(0, at)}${c}${token.slice(at + 1)}`);
      expect([at, res.status, res.headers.get("location")]).toEqual([at, 404, null]);
    }
    // The destination swapped for another of the same length, the signature kept.
    const bytes = Buffer.from(token, "base64url");
    const url = Buffer.from("shop.example.com/sale");
    const at = bytes.indexOf(url);
    expect(at).toBeGreaterThan(0);
    Buffer.from("evil.example.net/sale").copy(bytes, at);
    const swapped = await app.hit(`${BASE}/c/${bytes.toString("base64url")}`);
    expect([swapped.status, swapped.headers.get("location")]).toEqual([404, null]);
    // A pixel token used as a click, a truncated token, a token with padding.
    const pixelToken = pixel!.slice(`${BASE}/o/`.length);
    for (const path of [`/c/${pixelToken}`, `/c/${token.slice(0, -4)}`, `/c/${token}=`, `/c/${token}/`])
      expect((await app.hit(app.listener + path)).status).toBe(404);

    // Rotated out: the key that signed it retired (here: 10 s ago, written straight into the store).
    const page = (await app.rewrite(MESSAGE)).headers["List-Unsubscribe"]!.slice(1, -1);
    expect((await app.hit(page)).status).toBe(200);
    await rotateStoredKeyring(app.hookd.store, 1000, Date.now() - 11_000);
    // GET /u records nothing: polled until the listener has read the new ring.
    await eventually(async () => (await app.hit(page)).status === 404);
    expect((await app.hit(click)).status).toBe(404);
    expect((await app.hit(pixel!)).status).toBe(404);
    expect(engagement(await untilMarker(app, r, "tampered"))).toEqual([]);
    // Mail tracked from now on (once the API has read the new ring: within a second) uses the new key and works.
    await eventually(async () => (await app.hit(linksOf((await app.rewrite(MESSAGE)).html).clicks[0]!)).status === 302);
  });

  test("POST /tracking/keys/rotate: a new key signs, the old one keeps verifying; ids only, never a secret", async () => {
    const { app } = await setup();
    const before = linksOf((await app.rewrite(MESSAGE)).html).clicks[0]!;
    const res = await app.api("POST", "/tracking/keys/rotate");
    const text = await res.text();
    expect(res.status).toBe(200);
    const keys = (JSON.parse(text) as { results: { id: number; current: boolean; retires_at: string | null }[] }).results;
    expect(keys.map((k) => [k.id, k.current])).toEqual([
      [1, true],
      [0, false],
    ]);
    expect(Date.parse(keys[1]!.retires_at!) - Date.now()).toBeGreaterThan(179 * 86_400_000);
    expect(text).not.toMatch(/secret|[A-Za-z0-9_-]{43}/);
    const after = linksOf((await app.rewrite(MESSAGE)).html).clicks[0]!;
    expect(Buffer.from(after.slice(`${BASE}/c/`.length), "base64url")[1]).toBe(1); // key id byte
    expect((await app.hit(before)).status).toBe(302);
    await eventually(async () => (await app.hit(after)).status === 302); // the listener reads the new ring within a second
  });
});

describe("one-click unsubscribe (RFC 8058)", () => {
  test("as Gmail posts it (urlencoded) and as RFC 8058 recommends (multipart): 200, one event however often", async () => {
    const { app, r } = await setup();
    const unsubscribeOf = async (rcpt: string) =>
      (await app.rewrite({ ...MESSAGE, rcpt_to: rcpt })).headers["List-Unsubscribe"]!.slice(1, -1);
    const gmail = await unsubscribeOf("gmail-user@example.org");
    const rfc = await unsubscribeOf("rfc-user@example.org");
    for (let i = 0; i < 3; i++) {
      const a = await app.hit(gmail, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "user-agent": "Mozilla/5.0 (compatible; Google-One-Click)" },
        body: "List-Unsubscribe=One-Click",
      });
      expect([a.status, a.headers.get("location")]).toEqual([200, null]);
      const form = new FormData();
      form.set("List-Unsubscribe", "One-Click");
      const b = await app.hit(rfc, { method: "POST", body: form });
      expect([b.status, b.headers.get("location")]).toEqual([200, null]);
    }
    // Not the one-click body: refused, nothing recorded.
    expect(
      (
        await app.hit(gmail, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "List-Unsubscribe=Yes",
        })
      ).status,
    ).toBe(400);
    const events = engagement(await untilMarker(app, r, "one-click"));
    expect(events.map((e) => [e.type, e.rcpt_to, e.machine])).toEqual([
      ["list_unsubscribe", "gmail-user@example.org", false],
      ["list_unsubscribe", "rfc-user@example.org", false],
    ]);
  });

  test("GET /u shows a page whose button POSTs, and never records", async () => {
    const { app, r } = await setup();
    const url = (await app.rewrite(MESSAGE)).headers["List-Unsubscribe"]!.slice(1, -1);
    for (const method of ["GET", "HEAD", "GET"]) {
      const res = await app.hit(url, { method });
      expect(res.status).toBe(200);
      if (method === "GET")
        expect(await res.text()).toMatch(/<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">/);
    }
    expect(engagement(await untilMarker(app, r, "get-u"))).toEqual([]);
  });
});

describe("the listener serves nothing else", () => {
  test("API, metrics, health, admin page and docs are 404 on the tracking port (and served on the API's)", async () => {
    const { app } = await setup();
    for (const path of [
      "/",
      "/healthz",
      "/metrics",
      "/docs",
      "/admin/main.js",
      "/admin.css",
      "/api/v1/status",
      "/api/v1/openapi.json",
      "/api/v1/webhooks",
      "/o/",
      "/c",
      "/u/x/y",
      "/favicon.ico",
      "/robots.txt",
    ]) {
      const res = await app.hit(app.listener + path, { headers: { authorization: `Bearer ${app.key}` } });
      expect([path, res.status]).toEqual([path, 404]);
      expect(res.headers.get("set-cookie")).toBeNull();
    }
    const post = await app.hit(`${app.listener}/api/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${app.key}`, "content-type": "application/json" },
      body: "[]",
    });
    expect(post.status).toBe(404);
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
  });
});

describe("starting", () => {
  test("a tracking address in use stops hookd from starting, saying why, and leaves the store free", async () => {
    const busy = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    t.defer(() => busy.stop(true));
    const dir = tempDir();
    const config = testConfig(trackingConfig({ listen: `127.0.0.1:${busy.port}` }), dir);
    const err = await startHookd({ config, log: silentLogger, announceKey: () => {} }).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(err).toStartWith(`cannot start tracking: cannot listen on 127.0.0.1:${busy.port}: `);
    const again = await startHookd({
      config: { ...config, tracking: { ...config.tracking, listen: "127.0.0.1:0" } },
      log: silentLogger,
      announceKey: () => {},
    });
    await again.stop();
  });
});

describe("status and metrics", () => {
  test("/api/v1/status has the tracking section; /metrics counts hits by kind and machine, recorded, and the listener's state", async () => {
    const { app } = await setup();
    const { clicks, pixel } = linksOf((await app.rewrite(MESSAGE)).html);
    await app.hit(pixel!);
    await app.hit(clicks[0]!, { method: "HEAD" });
    await app.hit(`${app.listener}/c/not-a-token`);
    const status = await eventually(async () => {
      const s = (
        (await (await app.api("GET", "/status")).json()) as {
          results: { tracking: Record<string, unknown> & { counts: { recorded: number } } };
        }
      ).results.tracking;
      return s.counts.recorded >= 2 && s;
    });
    expect(status).toMatchObject({
      enabled: true,
      listen: "127.0.0.1:0",
      base_url: BASE,
      up: true,
      address: app.listener,
      counts: {
        hits: { open: 1, click: 1, unsubscribe: 0 },
        machine: { open: 0, click: 1 },
        notFound: 1,
        recorded: 2,
        queueFull: 0,
        commitFailed: 0,
      },
      keys: [{ id: 0, current: true, retires_at: null }],
    });
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    for (const line of [
      'hookd_tracking_hits_total{kind="open",machine="false"} 1',
      'hookd_tracking_hits_total{kind="click",machine="true"} 1',
      "hookd_tracking_hits_recorded_total 2",
      'hookd_tracking_hits_dropped_total{reason="queue_full"} 0',
      "hookd_tracking_not_found_total 1",
      "hookd_tracking_listener_up 1",
      'hookd_events_total{origin="tracking",type="open"} 1',
    ])
      expect(metrics).toContain(line);
    expect(metrics).toMatch(/hookd_tracking_commit_duration_seconds_count [1-9]/);
  });

  test("without [tracking] listen: no listener, status says so, no listener metrics", async () => {
    const app = await t.app();
    const s = ((await (await app.api("GET", "/status")).json()) as { results: { tracking: Record<string, unknown> } }).results.tracking;
    expect(s).toMatchObject({ enabled: false, listen: "", up: false, address: null });
    expect(await (await fetch(`${app.url}/metrics`)).text()).not.toMatch(/^hookd_tracking_listener_up /m);
  });
});
