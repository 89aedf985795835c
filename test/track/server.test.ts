import { afterEach, describe, expect, test } from "bun:test";
import type { Hit } from "../../src/track/events.ts";
import { createHitWriter, QueueFullError } from "../../src/track/hits.ts";
import { rotateKeyring, type Keyring, type TrackingKey } from "../../src/track/keyring.ts";
import { messageLinks, type MessageLinks } from "../../src/track/links.ts";
import { startTrackServer, type TrackServer, type TrackServerOptions } from "../../src/track/server.ts";
import { signToken } from "../../src/track/tokens.ts";

const key: TrackingKey = { id: 3, secret: new Uint8Array(32).fill(5) };
const ISSUED = Math.floor(Date.now() / 1000) - 3600; // tracked an hour ago: no click is "too fast"
const message = { host: "mx1", queueId: "4BCD21C03F2", rcpt: "alice@example.org" };
const DEST = "https://shop.example.com/sale?cat=shoes&sort=price";
const CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

const servers: TrackServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

/** A listener whose hits go through the real group-commit writer into `committed`. */
function start(opts: Partial<TrackServerOptions> = {}) {
  const committed: Hit[] = [];
  const writer = createHitWriter<Hit>({ commit: (b) => void committed.push(...b), windowMs: 1 });
  let ring: Keyring = { currentId: key.id, keys: [key] };
  const server = startTrackServer({ keyring: () => ring, record: (h) => writer.enqueue(h), recordWaitMs: 50, ...opts });
  servers.push(server);
  const links: MessageLinks = messageLinks({ baseUrl: server.url, key, issuedAt: ISSUED, message });
  return {
    s: server,
    links,
    committed,
    writer,
    setRing: (r: Keyring) => void (ring = r),
    get: (url: string, init: RequestInit = {}) =>
      fetch(url, { redirect: "manual", ...init, headers: { "user-agent": CHROME, ...(init.headers as Record<string, string>) } }),
  };
}

const ONE_CLICK = "List-Unsubscribe=One-Click";

function expectSafeHeaders(r: Response) {
  expect(r.headers.get("x-content-type-options")).toBe("nosniff");
  expect(r.headers.get("referrer-policy")).toBe("no-referrer");
  expect(r.headers.get("cache-control")).toContain("no-store");
  expect(r.headers.get("set-cookie")).toBeNull();
}

describe("the routes", () => {
  test("GET /o: a 1×1 GIF nobody caches, and one open", async () => {
    const t = start();
    const r = await t.get(t.links.pixelUrl);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("image/gif");
    const gif = new Uint8Array(await r.arrayBuffer());
    expect(new TextDecoder().decode(gif.subarray(0, 6))).toBe("GIF89a");
    expect([gif[6], gif[8]]).toEqual([1, 1]); // width, height
    const again = new Uint8Array(await (await t.get(t.links.pixelUrl)).arrayBuffer());
    expect(again).toEqual(gif); // the shared GIF bytes are not used up by the first answer
    expect(r.headers.get("cache-control")).toContain("private");
    expect(r.headers.get("cache-control")).toContain("no-cache");
    expectSafeHeaders(r);
    await t.writer.tick();
    expect(t.committed.map((h) => [h.payload.kind, h.payload.rcpt, h.ip, h.userAgent, h.verdict.machine])).toEqual([
      ["open", "alice@example.org", "127.0.0.1", CHROME, false],
      ["open", "alice@example.org", "127.0.0.1", CHROME, false],
    ]);
  });

  test("GET /c: 302 to exactly the signed destination, no referrer, one click", async () => {
    const t = start();
    const r = await t.get(`${t.links.clickUrl(DEST)}?utm_appended=by-a-proxy`);
    expect(r.status).toBe(302);
    expect(r.headers.get("location")).toBe(DEST);
    expectSafeHeaders(r);
    await t.writer.tick();
    expect(t.committed.map((h) => [h.payload.kind, h.payload.url])).toEqual([["click", DEST]]);
    expect(t.s.stats()).toMatchObject({ click: 1, open: 0, machine: 0 });
  });

  test("HEAD /o and /c answer like GET, without a body, and count as machine hits", async () => {
    const t = start();
    const o = await t.get(t.links.pixelUrl, { method: "HEAD" });
    expect([o.status, o.headers.get("content-type"), (await o.arrayBuffer()).byteLength]).toEqual([200, "image/gif", 0]);
    const c = await t.get(t.links.clickUrl(DEST), { method: "HEAD" });
    expect([c.status, c.headers.get("location")]).toEqual([302, DEST]);
    await t.writer.tick();
    expect(t.committed.map((h) => h.verdict)).toEqual([
      { machine: true, reason: "head" },
      { machine: true, reason: "head" },
    ]);
  });

  test("GET /u: a page whose button POSTs here, under a strict CSP; it records nothing", async () => {
    const t = start();
    const r = await t.get(t.links.unsubscribeUrl);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const csp = r.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("form-action 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expectSafeHeaders(r);
    const html = await r.text();
    expect(html).toContain('<form method="post">');
    expect(html).toContain('<input type="hidden" name="List-Unsubscribe" value="One-Click">');
    expect((await t.get(t.links.unsubscribeUrl, { method: "HEAD" })).status).toBe(200);
    await t.writer.tick();
    expect(t.committed).toEqual([]);
    expect(t.s.stats().unsubscribe).toBe(0);
  });

  test("POST /u as Gmail sends it (urlencoded): 200, never a redirect, exactly one unsubscribe", async () => {
    const t = start();
    const r = await fetch(t.links.unsubscribeUrl, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: ONE_CLICK,
    });
    expect(r.status).toBe(200);
    expect(r.headers.get("location")).toBeNull();
    expect(await r.text()).toContain("You are unsubscribed");
    expect(t.committed.map((h) => [h.payload.kind, h.payload.rcpt, h.verdict.machine])).toEqual([
      ["unsubscribe", "alice@example.org", false],
    ]);
  });

  test("POST /u as RFC 8058 recommends (multipart/form-data): 200, exactly one unsubscribe", async () => {
    const t = start();
    const form = new FormData();
    form.set("List-Unsubscribe", "One-Click");
    const r = await fetch(t.links.unsubscribeUrl, { method: "POST", redirect: "manual", body: form });
    expect(r.status).toBe(200);
    expect(t.committed.map((h) => h.payload.kind)).toEqual(["unsubscribe"]);
  });

  test("POST /u with any other body: 400 and nothing recorded", async () => {
    const t = start();
    for (const body of ["", "List-Unsubscribe=Yes", "unsubscribe=1", '{"List-Unsubscribe":"One-Click"}']) {
      const r = await fetch(t.links.unsubscribeUrl, {
        method: "POST",
        headers: { "content-type": body.startsWith("{") ? "application/json" : "application/x-www-form-urlencoded" },
        body,
      });
      expect(r.status).toBe(400);
    }
    await t.writer.tick();
    expect(t.committed).toEqual([]);
  });
});

describe("what answers promise", () => {
  test("the one-click 200 means committed: a failing store gives a 503, a working one a 200", async () => {
    let fail = true;
    const committed: Hit[] = [];
    const writer = createHitWriter<Hit>({
      commit: (b) => {
        if (fail) throw new Error("database is locked");
        committed.push(...b);
      },
      windowMs: 1,
    });
    const server = startTrackServer({ keyring: () => ({ currentId: 3, keys: [key] }), record: (h) => writer.enqueue(h) });
    servers.push(server);
    const url = messageLinks({ baseUrl: server.url, key, issuedAt: ISSUED, message }).unsubscribeUrl;
    const post = () => fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: ONE_CLICK });
    const refused = await post();
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("60");
    fail = false;
    expect((await post()).status).toBe(200);
    expect(committed.length).toBe(1);
    expect(server.stats()).toMatchObject({ unsubscribe: 1, recordFailed: 1 });
  });

  test("a one-click whose commit does not come within commitTimeoutMs: 503, not a hung request", async () => {
    const t = start({ record: () => new Promise<void>(() => {}), commitTimeoutMs: 50 });
    const r = await fetch(t.links.unsubscribeUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: ONE_CLICK,
    });
    expect(r.status).toBe(503);
    expect(t.s.stats()).toMatchObject({ unsubscribe: 0, recordFailed: 1 });
  });

  test("a pixel and a redirect do not wait for a store that hangs, fails or is full", async () => {
    for (const record of [
      () => new Promise<void>(() => {}),
      () => Promise.reject(new Error("disk full")),
      () => Promise.reject(new QueueFullError("full")),
    ]) {
      const calls: number[] = [];
      const s = startTrackServer({
        keyring: () => ({ currentId: 3, keys: [key] }),
        record: () => (calls.push(1), record()),
        recordWaitMs: 20,
      });
      servers.push(s);
      const links = messageLinks({ baseUrl: s.url, key, issuedAt: ISSUED, message });
      const t0 = performance.now();
      const c = await fetch(links.clickUrl(DEST), { redirect: "manual", headers: { "user-agent": CHROME } });
      const o = await fetch(links.pixelUrl, { headers: { "user-agent": CHROME } });
      expect([c.status, c.headers.get("location"), o.status]).toEqual([302, DEST, 200]);
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(calls.length).toBe(2);
      const st = s.stats();
      expect(st.recordSlow + st.recordFailed).toBe(2);
    }
  });
});

describe("404 and no event", () => {
  test("other paths, methods and routes the API has: 404", async () => {
    const t = start();
    const token = t.links.pixelUrl.slice(t.links.pixelUrl.lastIndexOf("/") + 1);
    const cases: [string, string][] = [
      ["GET", "/"],
      ["GET", "/o"],
      ["GET", "/o/"],
      ["GET", `/x/${token}`],
      ["GET", `/o/${token}/`],
      ["GET", `/o/${token}/more`],
      ["GET", "/api/v1/webhooks"],
      ["GET", "/metrics"],
      ["GET", "/healthz"],
      ["GET", "/docs"],
      ["POST", `/o/${token}`],
      ["PUT", `/c/${token}`],
      ["DELETE", `/u/${token}`],
      ["OPTIONS", `/o/${token}`],
      ["PATCH", `/u/${token}`],
    ];
    for (const [method, p] of cases) {
      const r = await fetch(`${t.s.url}${p}`, { method, redirect: "manual" });
      expect([method, p, r.status]).toEqual([method, p, 404]);
    }
    await t.writer.tick();
    expect(t.committed).toEqual([]);
  });

  test("a tampered token, a token of another kind, a forged one, a swapped destination: 404, nothing recorded", async () => {
    const t = start();
    const click = t.links.clickUrl(DEST);
    const token = click.slice(click.lastIndexOf("/") + 1);
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
    const bytes = Buffer.from(token, "base64url");
    bytes.set(Buffer.from("evil.example.com"), bytes.indexOf(Buffer.from("shop.example.com")));
    const urls = [
      `${t.s.url}/c/${flip(token, 5)}`,
      `${t.s.url}/c/${flip(token, token.length - 1)}`,
      `${t.s.url}/c/${token.slice(0, -2)}`,
      `${t.s.url}/c/${token}AA`,
      `${t.s.url}/c/${bytes.toString("base64url")}`,
      `${t.s.url}/o/${token}`, // a click token at the pixel
      `${t.s.url}/u/${token}`,
      `${t.s.url}/c/${signToken({ ...message, kind: "click", issuedAt: ISSUED, url: DEST }, { id: 3, secret: new Uint8Array(32).fill(6) })}`,
    ];
    for (const u of urls) {
      const r = await t.get(u);
      expect([u, r.status, r.headers.get("location")]).toEqual([u, 404, null]);
    }
    const post = await fetch(`${t.s.url}/u/${flip(token, 3)}`, {
      method: "POST",
      body: ONE_CLICK,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(post.status).toBe(404);
    await t.writer.tick();
    expect(t.committed).toEqual([]);
    expect(t.s.stats().notFound).toBe(urls.length + 1);
  });

  test("a token of a rotated-out key: verifies while its key does, then 404", async () => {
    const t = start();
    const click = t.links.clickUrl(DEST);
    const now = Math.floor(Date.now() / 1000);
    const rotated = rotateKeyring({ currentId: key.id, keys: [key] }, { nowSec: now, verifyForSec: 3600 });
    t.setRing(rotated);
    expect((await t.get(click)).status).toBe(302);
    t.setRing(
      rotateKeyring(
        { ...rotated, keys: rotated.keys.map((k) => (k.id === key.id ? { ...k, retiresAt: now - 1 } : k)) },
        { nowSec: now, verifyForSec: 60 },
      ),
    );
    expect((await t.get(click)).status).toBe(404);
    await t.writer.tick();
    expect(t.committed.length).toBe(1);
  });
});

describe("limits", () => {
  test("oversize bodies: 413 by Content-Length and by counting a chunked body", async () => {
    const t = start({ maxBodyBytes: 256 });
    const big = await fetch(t.links.unsubscribeUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `${ONE_CLICK}&pad=${"x".repeat(300)}`,
    });
    expect(big.status).toBe(413);
    const chunks = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(64).fill(120));
        c.close();
      },
    });
    const streamed = await fetch(t.links.unsubscribeUrl, {
      method: "POST",
      body: chunks,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(streamed.status).toBe(413);
    await t.writer.tick();
    expect(t.committed).toEqual([]);
  });

  test("oversize headers: 431", async () => {
    const t = start({ maxHeaderBytes: 1024 });
    const r = await t.get(t.links.pixelUrl, { headers: { "x-filler": "x".repeat(2000) } });
    expect(r.status).toBe(431);
  });

  test("a per-IP token bucket: the burst, then 429 with Retry-After, then room again as time passes", async () => {
    let now = Date.now();
    const t = start({ now: () => now, rateLimit: { perSecond: 2, burst: 3, maxClients: 100 } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await t.get(t.links.pixelUrl)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const limited = await t.get(t.links.pixelUrl);
    expect(limited.headers.get("retry-after")).toBe("1");
    now += 1000; // two more tokens
    expect([
      (await t.get(t.links.pixelUrl)).status,
      (await t.get(t.links.pixelUrl)).status,
      (await t.get(t.links.pixelUrl)).status,
    ]).toEqual([200, 200, 429]);
    // Another client (named by a trusted proxy on loopback) has its own bucket.
    expect((await t.get(t.links.pixelUrl, { headers: { "x-forwarded-for": "203.0.113.50" } })).status).toBe(200);
    await t.writer.tick();
    expect(t.committed.length).toBe(6);
    expect(t.committed.at(-1)?.ip).toBe("203.0.113.50");
  });
});

describe("the client's address", () => {
  test("X-Forwarded-For is believed only from a trusted proxy, and only its last untrusted hop", async () => {
    const t = start({ trustProxy: (ip) => ip === "127.0.0.1" || ip === "10.0.0.2" });
    await t.get(t.links.pixelUrl, { headers: { "x-forwarded-for": "198.51.100.1, 203.0.113.7, 10.0.0.2" } });
    await t.get(t.links.pixelUrl, { headers: { "x-forwarded-for": "not-an-ip" } });
    await t.writer.tick();
    expect(t.committed.map((h) => h.ip)).toEqual(["203.0.113.7", "127.0.0.1"]);
    const u = start({ trustProxy: () => false });
    await u.get(u.links.pixelUrl, { headers: { "x-forwarded-for": "203.0.113.7" } });
    await u.writer.tick();
    expect(u.committed.map((h) => h.ip)).toEqual(["127.0.0.1"]);
  });

  test("machine marking reaches the hit: Apple's proxy, a scanner, a fast click", async () => {
    const t = start();
    await t.get(t.links.pixelUrl, { headers: { "user-agent": "Mozilla/5.0" } });
    await t.get(t.links.clickUrl(DEST), { headers: { "user-agent": "Barracuda Sentinel (EE)" } });
    const fresh = messageLinks({ baseUrl: t.s.url, key, issuedAt: Math.floor(Date.now() / 1000), message });
    await t.get(fresh.clickUrl(DEST));
    await t.writer.tick();
    expect(t.committed.map((h) => h.verdict.reason)).toEqual(["apple_privacy_proxy", "security_scanner", "fast_click"]);
    expect(t.s.stats().machine).toBe(3);
  });
});
