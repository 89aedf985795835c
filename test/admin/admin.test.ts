// The admin page in Debian's Chromium, driven by playwright-core, against a real hookd and a
// real receiver on 127.0.0.1. One story in order: sign in, create a webhook, watch its batch
// arrive, force a failure, retry the dead letter from the page, search and tail events.
// Screenshots of each main view go to test-artifacts/screenshots/ for a human to look at.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "./browser.ts";
import { startAdminStack, type AdminStack } from "./stack.ts";

const SHOTS = path.resolve(import.meta.dir, "../../test-artifacts/screenshots");
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 375, height: 812 };
// Bounded everywhere: each step waits at most 10 s for the page, each test at most 30 s.
const TEST_MS = 30_000;

let stack: AdminStack;
let browser: Browser;
let page: Page;
let webhookId = "";
const pageErrors: string[] = [];

async function shot(name: string) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function postEvents(events: Record<string, unknown>[]): Promise<string[]> {
  const res = await stack.api("POST", "/events", events);
  expect(res.status).toBe(200);
  return ((await res.json()) as { results: { event_ids: string[] } }).results.event_ids;
}

const bodiesWith = (id: string) => stack.receiver.requests.filter((r) => r.body.includes(id));

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  [stack, browser] = await Promise.all([startAdminStack({ retryForMs: 1000 }), launchChromium()]);
  page = await browser.newPage({ viewport: DESKTOP });
  page.setDefaultTimeout(10_000);
  page.on("pageerror", (err) => pageErrors.push(err.message));
  // 400s and 401s the tests provoke are logged by Chromium as failed loads; anything else
  // (a CSP violation, an exception) is a bug.
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) pageErrors.push(m.text());
  });
}, TEST_MS);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
}, TEST_MS);

describe("admin page", () => {
  test(
    "sign in: a wrong key is refused next to the field; the right one is kept for the session only",
    async () => {
      await page.goto(`${stack.url}/`);
      await page.getByLabel("API key").waitFor();
      await shot("sign-in");
      await page.getByLabel("API key").fill("hookd_not_a_real_key");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.locator("#api-key-error", { hasText: "not accepted" }).waitFor();
      expect(await page.getByLabel("API key").getAttribute("aria-invalid")).toBe("true");

      await page.getByLabel("API key").fill(stack.key);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("heading", { level: 1, name: "Webhooks" }).waitFor();
      const stored = await page.evaluate(() => ({ session: Object.values(sessionStorage), local: localStorage.length }));
      expect(stored).toEqual({ session: [stack.key], local: 0 });
      await page.getByText("No webhooks yet").waitFor();
    },
    TEST_MS,
  );

  test(
    "create form: the API's validation errors appear next to the fields they name",
    async () => {
      await page.getByRole("link", { name: "New webhook" }).click();
      await page.getByRole("heading", { level: 1, name: "New webhook" }).waitFor();
      await page.getByLabel("Target URL").fill("ftp://mail.example.com/hook");
      await page.getByLabel("All event types").uncheck();
      await page.getByText("Batching, headers and filters").click();
      await page.getByLabel("Max wait").fill("soon");
      await page.getByRole("button", { name: "Create webhook" }).click();

      const summary = page.locator(".form-errors");
      await summary.waitFor();
      // Focus moves to the summary so a screen reader reads the problems first.
      expect(await page.evaluate(() => document.activeElement?.classList.contains("form-errors"))).toBe(true);
      await page.locator('[data-field="name"] .field-error').waitFor();
      expect(await page.locator('[data-field="target"] .field-error').innerText()).toContain("http");
      expect(await page.locator('[data-field="events"] .field-error').innerText()).toContain("at least one event type");
      expect(await page.locator('[data-field="batch_max_wait"] .field-error').innerText()).toContain("duration");
      expect(await page.getByLabel("Target URL").getAttribute("aria-invalid")).toBe("true");
      // Every control in the form has an accessible name.
      const unnamed = await page.evaluate(() =>
        [...document.querySelectorAll("form input, form select, form textarea")]
          .filter((el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute("aria-label"))
          .map((el) => el.outerHTML),
      );
      expect(unnamed).toEqual([]);
      await shot("create-form-errors");
    },
    TEST_MS,
  );

  test(
    "create a webhook against a live receiver and watch its batch arrive in the detail view",
    async () => {
      const form = page.locator("form");
      await page.getByLabel("Name", { exact: true }).fill("Bounce processor");
      await page.getByLabel("Target URL").fill(`${stack.receiver.url}/mail-events`);
      await page.getByLabel("All event types").check();
      await page.getByLabel("Max wait").fill("");
      await form.getByRole("button", { name: "Create webhook" }).click();

      // Lands on the new webhook, with its signing secret shown once.
      await page.getByRole("heading", { level: 1, name: "Bounce processor" }).waitFor();
      expect(await page.locator(".secret").innerText()).toStartWith("whsec_");
      webhookId = decodeURIComponent(new URL(page.url()).hash.split("/")[2]!);
      expect(stack.receiver.requests.length).toBe(1); // the create's test POST

      const [eventId] = await postEvents([{ type: "open", rcpt_to: "ada@example.org", message_id: "<first@mail.example.com>" }]);
      const row = page.locator("tr[data-state='delivered']").first();
      await row.waitFor();
      expect(bodiesWith(eventId!).length).toBe(1);
      expect(await row.locator("td[data-label='Response']").innerText()).toContain("200");

      await row.getByRole("button", { name: /Attempts/ }).click();
      await page.locator(".attempts li", { hasText: "HTTP 200" }).waitFor();
      expect(await row.getByRole("button", { name: /Hide attempts/ }).getAttribute("aria-expanded")).toBe("true");

      await page.getByRole("button", { name: "Validate" }).click();
      await page.locator(".panel", { hasText: "Test POST to webhook succeeded" }).waitFor();
      await shot("webhook-detail");
    },
    TEST_MS,
  );

  test(
    "force a failure: the batch is dead-lettered, and Retry on the page delivers it",
    async () => {
      stack.receiver.respondWith({ status: 503, body: "down for maintenance" });
      const [eventId] = await postEvents([
        { type: "click", rcpt_to: "grace@example.org", message_id: "<second@mail.example.com>", url: "https://example.org/x" },
      ]);
      const retry = page.getByRole("button", { name: "Retry dead letters" });
      await retry.waitFor({ timeout: 15_000 });
      const deadRow = page.locator("#h-dead ~ .region tr[data-state='dead']").first();
      await deadRow.waitFor();
      const batchId = await deadRow.getAttribute("data-batch");
      expect(await deadRow.locator("td[data-label='Response']").innerText()).toContain("503");
      const failedTries = bodiesWith(eventId!).length;
      expect(failedTries).toBeGreaterThan(0);
      await shot("webhook-dead-letter");

      stack.receiver.respondWith({ status: 200 });
      await retry.click();
      await page.locator(`#h-batches ~ .region tr[data-batch='${batchId}'][data-state='delivered']`).waitFor({ timeout: 15_000 });
      await page.getByText("No dead letters.").waitFor();
      expect(bodiesWith(eventId!).length).toBe(failedTries + 1);
      expect(await page.locator("#status").innerText()).toContain("Queued 1 dead-lettered batch again");
    },
    TEST_MS,
  );

  test(
    "edit form: only the changed fields are sent, and the API's errors show next to them",
    async () => {
      await page.getByRole("link", { name: "Edit" }).click();
      await page.getByRole("heading", { level: 1, name: "Edit Bounce processor" }).waitFor();
      expect(await page.getByLabel("Name", { exact: true }).inputValue()).toBe("Bounce processor");
      await page.getByText("Batching, headers and filters").click();
      await page.getByLabel("Max events per batch").fill("0");
      await page.getByRole("button", { name: "Save changes" }).click();
      await page.locator('[data-field="batch_max_events"] .field-error').waitFor();
      expect(await page.getByLabel("Max events per batch").getAttribute("aria-invalid")).toBe("true");

      await page.getByLabel("Max events per batch").fill("500");
      await page.getByLabel("Name", { exact: true }).fill("Bounce processor EU");
      const sent = page.waitForRequest((r) => r.method() === "PATCH");
      await page.getByRole("button", { name: "Save changes" }).click();
      expect((await sent).postDataJSON()).toEqual({ name: "Bounce processor EU", batch_max_events: 500 });
      await page.getByRole("heading", { level: 1, name: "Bounce processor EU" }).waitFor();
      expect(await page.locator("#status").innerText()).toBe("Saved.");
    },
    TEST_MS,
  );

  test(
    "replay resends stored events as a new batch; rotate secret shows the new secret once",
    async () => {
      const before = stack.receiver.requests.length;
      await page.getByRole("button", { name: "Replay" }).click();
      await page.locator("#status", { hasText: "Replay queued: 2 events in 1 batch" }).waitFor();
      await page.locator("tr[data-state='delivered']", { hasText: "replay" }).waitFor();
      const replayed = stack.receiver.requests.slice(before).map((r) => r.json() as { rcpt_to?: string }[]);
      expect(
        replayed
          .flat()
          .map((e) => e.rcpt_to)
          .sort(),
      ).toEqual(["ada@example.org", "grace@example.org"]);

      page.once("dialog", (d) => void d.accept());
      await page.getByRole("button", { name: "Rotate secret" }).click();
      const panel = page.locator(".panel", { hasText: "New signing secret" });
      await panel.waitFor();
      expect(await panel.locator(".secret").innerText()).toStartWith("whsec_");
      expect(await panel.innerText()).toContain("The previous secret also signs until");
    },
    TEST_MS,
  );

  test(
    "the webhooks list shows status, queue, last success and failure and a sparkline; it fits a phone",
    async () => {
      await page.getByRole("navigation").getByRole("link", { name: "Webhooks" }).click();
      const row = page.locator("tbody tr", { hasText: "Bounce processor" });
      await row.waitFor();
      expect(await row.locator("td[data-label='Status']").innerText()).toMatch(/active|failing/);
      expect(await row.locator("td[data-label='Last success']").innerText()).not.toBe("never");
      expect(await row.locator("td[data-label='Last failure']").innerText()).toContain("http_503");
      const spark = row.locator("svg.spark");
      expect(await spark.getAttribute("aria-label")).toMatch(/Events delivered per minute, last 60 minutes: [1-9]/);
      await shot("webhooks-list");

      await page.setViewportSize(PHONE);
      await page.waitForTimeout(200);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
      await shot("webhooks-list-phone");
      await row.getByRole("link", { name: "Bounce processor" }).click();
      await page.locator("tr[data-state='delivered']").first().waitFor();
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
      await shot("webhook-detail-phone");
      await page.setViewportSize(DESKTOP);
    },
    TEST_MS,
  );

  test(
    "keyboard: the skip link comes first and navigation moves focus to the new view's heading",
    async () => {
      // A fresh load (the key stays: sessionStorage lives as long as the tab).
      await page.goto("about:blank");
      await page.goto(`${stack.url}/#/webhooks`);
      await page.getByRole("heading", { level: 1, name: "Webhooks" }).waitFor();
      await page.keyboard.press("Tab");
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
      await page.keyboard.press("Enter");
      expect(await page.evaluate(() => [document.activeElement?.id, location.hash])).toEqual(["main", "#/webhooks"]);
      await page.keyboard.press("Tab");
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("New webhook");
      await page.getByRole("navigation").getByRole("link", { name: "Events" }).focus();
      await page.keyboard.press("Enter");
      await page.getByRole("heading", { level: 1, name: "Events" }).waitFor();
      await page.waitForFunction(() => document.activeElement?.tagName === "H1");
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Events");
    },
    TEST_MS,
  );

  test(
    "event search by type, recipient and time range; the live tail shows new events",
    async () => {
      await page.goto(`${stack.url}/#/events`);
      await page.getByRole("search").waitFor();
      await page.getByLabel("Type").selectOption("open");
      await page.getByLabel("Recipient").fill("ada@example.org");
      await page.getByLabel("From (your local time)").fill(toLocalInput(Date.now() - 3_600_000));
      await page.getByRole("button", { name: "Search" }).click();
      const rows = page.locator("table.events tbody tr");
      await rows.filter({ hasText: "<first@mail.example.com>" }).waitFor();
      expect(await rows.count()).toBe(1);
      expect(new URL(page.url()).hash).toContain("rcpt_to=ada%40example.org");
      await rows.first().getByText("JSON").click();
      expect(await rows.first().locator("pre").innerText()).toContain('"rcpt_to": "ada@example.org"');

      await page.getByLabel("Message ID").fill("<nothing-like-this@x>");
      await page.getByRole("button", { name: "Search" }).click();
      await page.getByText("No events match.", { exact: false }).first().waitFor();

      await page.getByRole("button", { name: "Start live tail" }).click();
      await page.getByText("Live. Waiting for new events").waitFor();
      await postEvents([{ type: "open", rcpt_to: "tail@example.org", message_id: "<tail@mail.example.com>" }]);
      await page.locator("ol.tail li", { hasText: "tail@example.org" }).waitFor();

      await page.getByRole("button", { name: "Clear" }).click();
      await rows.filter({ hasText: "grace@example.org" }).waitFor();
      await shot("events-search");
      await page.getByRole("button", { name: "Stop live tail" }).click();
    },
    TEST_MS,
  );

  test(
    "sources: log files with lag and lines/s, and the queue of each webhook",
    async () => {
      await page.getByRole("navigation").getByRole("link", { name: "Sources" }).click();
      await page.getByRole("heading", { level: 1, name: "Sources" }).waitFor();
      await page.locator("tbody tr", { hasText: "Bounce processor" }).waitFor();
      await shot("sources");

      // hookd wires no tailer into /status yet, so the table of files is checked against a
      // /status answer in the documented shape; the rest of the response is the real one.
      await page.route("**/api/v1/status", async (route) => {
        const real = await route.fetch();
        const body = (await real.json()) as { results: Record<string, unknown> };
        body.results.sources = [
          {
            path: "/var/log/mail.log",
            format: "postfix",
            status: "reading",
            offset: 7_340_032,
            size: 9_437_184,
            lag_bytes: 2_097_152,
            lines_per_second: 412.4,
            lines_read: 1_204_332,
            lines_not_understood: 3,
            recent_not_understood: ["Nov 23 13:00:00 mx1 postfix/smtpd[1]: warning: something odd"],
          },
          {
            path: "/var/log/exim4/mainlog",
            format: "exim",
            status: "idle",
            offset: 1024,
            size: 1024,
            lag_bytes: 0,
            lines_per_second: 0,
            lines_read: 88,
            lines_not_understood: 0,
            recent_not_understood: [],
          },
        ];
        await route.fulfill({ response: real, json: body });
      });
      const file = page.locator("tbody tr", { hasText: "/var/log/mail.log" });
      await file.waitFor();
      expect(await file.locator("td[data-label='Lag']").innerText()).toContain("2.0 MB");
      expect(await file.locator("td[data-label='Lines / s']").innerText()).toContain("412.4");
      await shot("sources-with-files");
      await page.unroute("**/api/v1/status");
    },
    TEST_MS,
  );

  test(
    "sign out forgets the key; nothing went wrong in the page meanwhile",
    async () => {
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByLabel("API key").waitFor();
      expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
      expect(pageErrors).toEqual([]);
    },
    TEST_MS,
  );
});

function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
