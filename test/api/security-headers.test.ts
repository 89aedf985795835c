// Every response of the API listener tells browsers not to sniff its type, and /docs (a
// page with inline script and style) runs only its own inline blocks.
import { expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { testResources } from "../helpers/hookd.ts";

const t = testResources();

test("X-Content-Type-Options: nosniff on pages, JSON, errors, metrics and the admin page", async () => {
  const app = await t.app();
  const responses = {
    docs: await fetch(`${app.url}/docs`),
    healthz: await fetch(`${app.url}/healthz`),
    metrics: await fetch(`${app.url}/metrics`),
    admin: await fetch(`${app.url}/`),
    openapi: await fetch(`${app.url}/api/v1/openapi.json`),
    list: await app.api("GET", "/webhooks"),
    unauthorized: await app.api("GET", "/webhooks", { key: null }),
    notFound: await app.api("GET", "/nothing-here"),
    invalid: await app.api("POST", "/webhooks", { body: { name: "x" } }),
  };
  const seen = Object.fromEntries(Object.entries(responses).map(([k, r]) => [k, [r.status, r.headers.get("x-content-type-options")]]));
  expect(seen).toEqual({
    docs: [200, "nosniff"],
    healthz: [200, "nosniff"],
    metrics: [200, "nosniff"],
    admin: [200, "nosniff"],
    openapi: [200, "nosniff"],
    list: [200, "nosniff"],
    unauthorized: [401, "nosniff"],
    notFound: [404, "nosniff"],
    invalid: [400, "nosniff"],
  });
});

test("/docs has a CSP allowing exactly its inline script and style (by hash), its own origin's fetches, no framing", async () => {
  const app = await t.app();
  const res = await fetch(`${app.url}/docs`);
  const html = await res.text();
  const csp = res.headers.get("content-security-policy") ?? "";
  const hash = (tag: string) => {
    const inner = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(html)![1]!;
    return `'sha256-${createHash("sha256").update(inner).digest("base64")}'`;
  };
  const directives = Object.fromEntries(
    csp
      .split(";")
      .map((d) => d.trim().split(/\s+/))
      .map(([k, ...v]) => [k, v.join(" ")]),
  );
  expect(directives).toMatchObject({
    "default-src": "'none'",
    "script-src": hash("script"),
    "style-src": hash("style"),
    "connect-src": "'self'",
    "frame-ancestors": "'none'",
  });
  expect(res.headers.get("x-frame-options")).toBe("DENY");
});
