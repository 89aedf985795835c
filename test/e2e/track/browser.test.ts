// A real reader, as far as a test can have one: Debian's Chromium (playwright-core) opens a
// rewritten HTML message from a file, loads its pixel and follows its links through hookd's
// tracking listener to pages served on 127.0.0.1; the events arrive at a real receiver.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import type { Browser } from "playwright-core";
import { launchChromium } from "../../admin/browser.ts";
import { eventually } from "../../helpers/eventually.ts";
import { tempDir, testResources } from "../../helpers/hookd.ts";
import { createWebhook, received, type Received } from "../../track/helpers.ts";

const t = testResources();
// A desktop Chrome's User-Agent: headless Chromium's own says "HeadlessChrome", which the
// machine rules mark (nobody reads mail with it).
const CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const FAST_CLICK_MS = 5000;

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
}, 30_000);
afterAll(async () => {
  await browser?.close();
});

/** A port free right now, for a listener whose base_url must name it before it starts. */
function freePort(): number {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

describe("a rewritten message in Chromium", () => {
  test("the pixel gives an open; links lead to their pages and give clicks (machine within fast_click, a person's after)", async () => {
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const app = await t.app({
      delivery: { batch_max_wait: 0 },
      tracking: { listen: `127.0.0.1:${port}`, base_url: base, fast_click: FAST_CLICK_MS, rate_limit: 0 },
    } as never);
    const r = await t.receiver();
    await createWebhook(app, r, { events: ["open", "click"] });
    const shop = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) =>
        new Response(`<!doctype html><title>Shop ${new URL(req.url).pathname}</title><h1>${new URL(req.url).pathname}</h1>`, {
          headers: { "content-type": "text/html" },
        }),
    });
    t.defer(() => shop.stop(true));
    const shopUrl = `http://127.0.0.1:${shop.port}`;

    const html =
      `<!doctype html><html><head><meta charset="utf-8"><title>Spring sale</title></head><body>` +
      `<h1>Spring sale</h1><p><a id="fast" href="${shopUrl}/sale?cat=shoes&amp;sort=price">Shoes</a></p>` +
      `<p><a id="later" href="${shopUrl}/blog">Our blog</a></p></body></html>`;
    const trackedAt = Date.now();
    const res = await app.api("POST", "/tracking/rewrite", {
      body: { html, rcpt_to: "alice@example.org", message_id: "spring.1@example.com", campaign_id: "spring" },
    });
    expect(res.status).toBe(200);
    const tracked = ((await res.json()) as { results: { html: string } }).results.html;
    const file = path.join(tempDir(), "message.html");
    fs.writeFileSync(file, tracked);

    const context = await browser.newContext({ userAgent: CHROME });
    t.defer(() => context.close());
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`file://${file}`);
    // The pixel loaded: a 1×1 image, and an open at the receiver.
    const size = await page
      .locator(`img[src^="${base}/o/"]`)
      .evaluate((img: HTMLImageElement) => [img.complete, img.naturalWidth, img.naturalHeight]);
    expect(size).toEqual([true, 1, 1]);
    const open = await eventually(() => received(r).find((e) => e.type === "open"));
    expect(open).toMatchObject({
      rcpt_to: "alice@example.org",
      message_id: "spring.1@example.com",
      campaign_id: "spring",
      user_agent: CHROME,
      ip: "127.0.0.1",
      first: true,
      machine: false,
    });

    // A click within fast_click of tracking (the token holds whole seconds): followed, and
    // marked as a scanner's would be.
    const issuedMs = Math.floor(trackedAt / 1000) * 1000;
    expect(Date.now() - issuedMs).toBeLessThan(FAST_CLICK_MS - 1000);
    await Promise.all([page.waitForURL(`${shopUrl}/sale?cat=shoes&sort=price`), page.click("#fast")]);
    expect(await page.locator("h1").textContent()).toBe("/sale");
    await page.goBack();

    // A person's click, after fast_click has passed.
    await Bun.sleep(Math.max(0, issuedMs + FAST_CLICK_MS + 1000 - Date.now()));
    await Promise.all([page.waitForURL(`${shopUrl}/blog`), page.click("#later")]);
    expect(await page.title()).toBe("Shop /blog");

    const clicksOf = () => received(r).filter((e) => e.type === "click");
    await eventually(() => clicksOf().length >= 2);
    const clicks = clicksOf();
    expect(clicks.map((e: Received) => [e.url, e.machine, e.machine_reason, e.first, e.user_agent])).toEqual([
      [`${shopUrl}/sale?cat=shoes&sort=price`, true, "fast_click", true, CHROME],
      [`${shopUrl}/blog`, false, undefined, false, CHROME],
    ]);
  }, 30_000);
});
