// The admin page's Domains view and the webhook list's "Check all" button, in Debian's
// Chromium against a real hookd, a real receiver and a DNS server on 127.0.0.1.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { startDnsServer, type DnsServer } from "../helpers/dns-server.ts";
import { launchChromium } from "./browser.ts";
import { startAdminStack, type AdminStack } from "./stack.ts";

const SHOTS = path.resolve(import.meta.dir, "../../test-artifacts/screenshots");
const TEST_MS = 30_000;

let stack: AdminStack;
let dns: DnsServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const hookIds: Record<string, string> = {};

async function shot(name: string) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function create(body: Record<string, unknown>): Promise<string> {
  const res = await stack.api("POST", "/webhooks", body);
  expect(res.status).toBe(201);
  return ((await res.json()) as { results: { id: string } }).results.id;
}

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  dns = await startDnsServer();
  [stack, browser] = await Promise.all([
    // An hour between background checks: here the page's "Verify now" does the lookups.
    startAdminStack({
      configure: (c) => {
        c.verification = { ...c.verification, dns_servers: [dns.address], dns_interval: 3_600_000 };
      },
    }),
    launchChromium(),
  ]);
  stack.receiver.respondWith((req) => (req.path === "/down" ? { status: 503, body: "down for maintenance" } : { status: 200, body: "ok" }));
  hookIds.ok = await create({ name: "Deliveries", target: `${stack.receiver.url}/ok`, events: ["delivery"], verification: "none" });
  hookIds.down = await create({ name: "Broken receiver", target: `${stack.receiver.url}/down`, events: ["*"], verification: "none" });
  // dns_txt on localhost: the POSTs reach the receiver, the TXT lookups the test's DNS server.
  hookIds.copernica = await create({
    name: "Copernica",
    target: `http://localhost:${stack.receiver.port}/copernica`,
    events: ["open"],
    format: "copernica",
    verification: "dns_txt",
  });

  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.setDefaultTimeout(10_000);
  page.on("pageerror", (err) => pageErrors.push(err.message));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) pageErrors.push(m.text());
  });
  await page.goto(`${stack.url}/`);
  await page.getByLabel("API key").fill(stack.key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { level: 1, name: "Webhooks" }).waitFor();
}, TEST_MS);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  dns?.stop();
}, TEST_MS);

describe("admin page: check all and domains", () => {
  test(
    "Check all sends every webhook a sample and shows one result per webhook",
    async () => {
      const before = stack.receiver.requests.length;
      await page.getByRole("button", { name: "Check all" }).click();
      const panel = page.locator(".panel", { hasText: "Check all: 2 of 3 webhooks answered 2xx." });
      await panel.waitFor();
      const rows = panel.locator("tbody tr");
      expect(await rows.count()).toBe(3);
      const row = (id: string) => panel.locator(`tr[data-check="${id}"]`);
      expect(await row(hookIds.ok!).getAttribute("data-ok")).toBe("true");
      expect(await row(hookIds.ok!).locator("td[data-label='Answer']").innerText()).toContain("HTTP 200");
      expect(await row(hookIds.down!).getAttribute("data-ok")).toBe("false");
      expect(await row(hookIds.down!).locator("td[data-label='Answer']").innerText()).toContain("HTTP 503");
      expect(await row(hookIds.down!).locator("td[data-label='Result']").innerText()).toContain("the receiver answered HTTP 503");
      expect(await row(hookIds.copernica!).getAttribute("data-ok")).toBe("true");
      expect(await page.locator("#status").innerText()).toBe("Check all: 2 of 3 webhooks answered 2xx.");
      // One request per webhook, each a sample of what it subscribes to.
      const sent = stack.receiver.requests.slice(before);
      expect(sent.map((r) => r.path).sort()).toEqual(["/copernica", "/down", "/ok"]);
      expect(new URLSearchParams(sent.find((r) => r.path === "/copernica")!.body).get("type")).toBe("open");
      await shot("webhooks-check-all");

      await panel.getByRole("button", { name: "Dismiss" }).click();
      await panel.waitFor({ state: "detached" });
    },
    TEST_MS,
  );

  test(
    "Domains: add one (a bad name is refused next to the field), see its TXT record, verify it; the dns_txt webhook on it turns active",
    async () => {
      await page.getByRole("navigation").getByRole("link", { name: "Domains" }).click();
      await page.getByRole("heading", { level: 1, name: "Domains" }).waitFor();
      await page.getByText("No domains yet.").waitFor();

      await page.getByLabel("Domain", { exact: true }).fill("https://localhost/");
      await page.getByRole("button", { name: "Add domain" }).click();
      await page.locator('[data-field="domain"] .field-error', { hasText: "expected a domain name" }).waitFor();
      expect(await page.getByLabel("Domain", { exact: true }).getAttribute("aria-invalid")).toBe("true");

      await page.getByLabel("Domain", { exact: true }).fill("localhost");
      await page.getByRole("button", { name: "Add domain" }).click();
      const row = page.locator('tr[data-domain="localhost"]');
      await row.waitFor();
      expect(await row.getAttribute("data-status")).toBe("pending");
      const value = await row.locator("td[data-label='TXT record'] code.secret").innerText();
      expect(value).toMatch(/^hookd-verification=[A-Za-z0-9_-]{16,}$/);
      expect(await row.locator("td[data-label='TXT record']").innerText()).toContain("TXT on localhost");
      await shot("domains-pending");

      // Not published yet: the API's reason is said, the domain stays pending.
      await row.getByRole("button", { name: "Verify localhost now" }).click();
      await page.locator("#status", { hasText: "localhost has no TXT records" }).waitFor();
      expect(await page.locator("#status").getAttribute("data-kind")).toBe("error");
      expect(await row.getAttribute("data-status")).toBe("pending");

      dns.setTxt("localhost", [value]);
      await row.getByRole("button", { name: "Verify localhost now" }).click();
      await page.locator('tr[data-domain="localhost"][data-status="verified"]').waitFor();
      expect(await page.locator("#status").innerText()).toBe("localhost is verified. Its dns_txt webhooks are active.");
      expect(await page.locator('tr[data-domain="localhost"] td[data-label="Status"]').innerText()).toContain("verified");
      await shot("domains-verified");

      await page.getByRole("navigation").getByRole("link", { name: "Webhooks" }).click();
      const hook = page.locator("tbody tr", { hasText: "Copernica" });
      await hook.waitFor();
      expect(await hook.locator("td[data-label='Status']").innerText()).toBe("active");
    },
    TEST_MS,
  );

  test(
    "Remove asks first, then the domain is gone; nothing went wrong in the page",
    async () => {
      await page.getByRole("navigation").getByRole("link", { name: "Domains" }).click();
      await page.locator('tr[data-domain="localhost"]').waitFor();
      page.once("dialog", (d) => void d.accept());
      await page.getByRole("button", { name: "Remove localhost" }).click();
      await page.getByText("No domains yet.").waitFor();
      expect(await page.locator("#status").innerText()).toBe("Removed localhost.");
      expect(pageErrors).toEqual([]);
    },
    TEST_MS,
  );
});
