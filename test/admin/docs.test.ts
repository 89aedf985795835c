// /docs in Chromium against a real hookd: the page lists every operation of the OpenAPI
// document once, at the path hookd really routes (it once printed /api/v1/api/v1/…).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { startTestApp, type TestApp } from "../helpers/hookd.ts";
import { launchChromium } from "./browser.ts";

type Doc = { paths: Record<string, Record<string, unknown>> };

let app: TestApp;
let browser: Browser;

beforeAll(async () => {
  [app, browser] = await Promise.all([startTestApp(), launchChromium()]);
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
}, 30_000);

describe("the API docs page", () => {
  test("lists each documented operation once, at a path hookd routes", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    page.setDefaultTimeout(10_000);
    await page.goto(`${app.url}/docs`);
    await page.locator("#ops summary .m").first().waitFor();
    // "GET /api/v1/webhooks", as a reader sees each operation's summary line.
    const shown = await page.$$eval("#ops summary:has(.m)", (els) =>
      els.map((el) => `${el.querySelector(".m")?.textContent?.toUpperCase()} ${el.querySelector("code")?.textContent}`),
    );
    await page.close();
    expect(errors).toEqual([]);

    const doc = (await (await fetch(`${app.url}/api/v1/openapi.json`)).json()) as Doc;
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    expect(documented.length).toBeGreaterThan(10);
    expect([...shown].sort()).toEqual(documented.sort());

    // Called as shown (no body; a made-up id), hookd answers from the operation's route —
    // 400, 404 "no webhook…" and the like — never with its "no route for" 404.
    for (const line of shown) {
      const [method, shownPath] = line.split(" ") as [string, string];
      const res = await fetch(app.url + shownPath.replace(/\{[^}]+\}/g, "docs-check"), {
        method,
        headers: { authorization: `Bearer ${app.key}` },
        signal: AbortSignal.timeout(10_000),
      });
      // The live tail's stream never ends by itself; its headers are answer enough.
      const body = res.headers.get("content-type")?.startsWith("text/event-stream") ? (await res.body?.cancel(), "") : await res.text();
      expect(body, line).not.toContain("no route for");
    }
  }, 30_000);
});
