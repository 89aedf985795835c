// The admin page's Tracking view in Chromium, against a real hookd whose tracking listener
// recorded a few hits: the listener's state, the counts with their machine share, the ranges.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import type { Browser } from "playwright-core";
import { eventually } from "../helpers/eventually.ts";
import { testResources } from "../helpers/hookd.ts";
import { linksOf, tracked, trackingConfig } from "../track/helpers.ts";
import { launchChromium } from "./browser.ts";
import { sqliteOf } from "../../src/store/sqlite/driver.ts";

const SHOTS = path.resolve(import.meta.dir, "../../test-artifacts/screenshots");
const t = testResources();
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
}, 30_000);
afterAll(async () => {
  await browser?.close();
});

describe("Tracking view", () => {
  test("shows the listener serving, opens/clicks/unsubscribes with the share marked machine, per minute and per hour", async () => {
    const app = await tracked(await t.app(trackingConfig()));
    const { html, headers } = await app.rewrite({
      html: '<a href="https://example.com/a">a</a>',
      rcpt_to: "alice@example.org",
      message_id: "m1@example.com",
    });
    const { clicks, pixel } = linksOf(html);
    await app.hit(pixel!);
    await app.hit(pixel!, { headers: { "user-agent": "Mozilla/5.0 (via ggpht.com GoogleImageProxy)" } });
    await app.hit(clicks[0]!);
    await app.hit(headers["List-Unsubscribe"]!.slice(1, -1), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "List-Unsubscribe=One-Click",
    });
    await eventually(
      async () =>
        (
          sqliteOf(app.hookd.store).query("SELECT sum(opens + clicks + unsubscribes) AS n FROM tracking_minutes").get() as {
            n: number | null;
          }
        ).n === 4,
    );

    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    t.defer(() => page.close());
    page.setDefaultTimeout(10_000);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.goto(`${app.url}/#/tracking`);
    await page.getByLabel("API key").fill(app.key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { level: 1, name: "Tracking" }).waitFor();
    expect(await page.locator('[data-nav="tracking"]').getAttribute("aria-current")).toBe("page");
    await page.getByText("serving").waitFor();
    expect(await page.locator('dd[data-figure="opens"]').textContent()).toBe("2 (50% machine)");
    expect(await page.locator('dd[data-figure="clicks"]').textContent()).toBe("1 (0% machine)");
    expect(await page.locator('dd[data-figure="unsubscribes"]').textContent()).toBe("1");
    expect(await page.getByRole("img", { name: /^Opens per minute, last 60 minutes: 2 in all/ }).count()).toBe(1);
    expect(await page.locator("table tbody tr").count()).toBe(1);
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, "tracking.png"), fullPage: true });

    await page.getByRole("link", { name: "Last day" }).click();
    await page.getByRole("img", { name: /^Opens per hour, last 24 hours: 2 in all/ }).waitFor();
    expect(await page.getByRole("link", { name: "Last day" }).getAttribute("aria-current")).toBe("page");
    expect(errors).toEqual([]);
  }, 30_000);

  test("the webhook form shows filter {machine: false} and keeps it when another filter changes", async () => {
    const app = await t.app();
    const r = await t.receiver();
    const created = await app.api("POST", "/webhooks", {
      body: { name: "humans", target: `${r.url}/h`, events: ["open", "click"], verification: "none", filter: { machine: false } },
    });
    const id = ((await created.json()) as { results: { id: string } }).results.id;
    const page = await browser.newPage();
    t.defer(() => page.close());
    page.setDefaultTimeout(10_000);
    await page.goto(`${app.url}/#/webhooks/${id}/edit`);
    await page.getByLabel("API key").fill(app.key);
    await page.getByRole("button", { name: "Sign in" }).click();
    const box = page.getByLabel("Leave out machine opens and clicks");
    await box.waitFor();
    expect(await box.isChecked()).toBe(true);
    await page.getByLabel("Hosts").fill("mx1");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByText("Saved.", { exact: true }).waitFor();
    const stored = (await (await app.api("GET", `/webhooks/${id}`)).json()) as { results: { filter: unknown } };
    expect(stored.results.filter).toEqual({ hosts: ["mx1"], machine: false });
    await page.goto(`${app.url}/#/webhooks/${id}/edit`);
    await page.getByLabel("Leave out machine opens and clicks").uncheck();
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByText("Saved.", { exact: true }).waitFor();
    expect(((await (await app.api("GET", `/webhooks/${id}`)).json()) as { results: { filter: unknown } }).results.filter).toEqual({
      hosts: ["mx1"],
    });
  }, 30_000);

  test("says how to turn tracking on when it is off", async () => {
    const app = await t.app();
    const page = await browser.newPage();
    t.defer(() => page.close());
    page.setDefaultTimeout(10_000);
    await page.goto(`${app.url}/#/tracking`);
    await page.getByLabel("API key").fill(app.key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("Tracking is off.").waitFor();
    await page.getByText("Nothing recorded in this time.").waitFor();
  }, 30_000);
});
