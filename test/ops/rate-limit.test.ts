// server.rate_limit: a token bucket per API key. A burst over the limit gets 429 with
// Retry-After in the usual error envelope; another key is unaffected; the bucket refills.
import { afterEach, expect, test } from "bun:test";
import { SCOPES } from "../../src/store/api-keys.ts";
import { eventually } from "../helpers/eventually.ts";
import { errorBody, startTestApp, type TestApp } from "../helpers/hookd.ts";

let app: TestApp | null = null;
afterEach(async () => {
  await app?.stop();
  app = null;
});

const LIMIT = 5;
const BURST = 20;

test(`rate_limit = ${LIMIT}: a burst of ${BURST} with one key gets 429 rate_limited with Retry-After; another key is unaffected; it refills`, async () => {
  app = await startTestApp({ server: { rate_limit: LIMIT } });
  const a = app;
  const other = (await a.hookd.store.keys.create("other", SCOPES, Date.now())).key;

  const started = Date.now();
  const burst = await Promise.all(Array.from({ length: BURST }, () => a.api("GET", "/webhooks")));
  const limitedAt = Date.now();
  const burstMs = limitedAt - started;
  const statuses = burst.map((r) => r.status);
  const ok = statuses.filter((s) => s === 200).length;
  const limited = burst.filter((r) => r.status === 429);
  expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
  // The bucket holds LIMIT tokens and refills LIMIT a second while the burst is in progress.
  expect(ok).toBeGreaterThanOrEqual(LIMIT);
  expect(ok).toBeLessThanOrEqual(LIMIT + Math.ceil((burstMs / 1000) * LIMIT));
  expect(limited.length).toBeGreaterThan(0);
  for (const res of limited) {
    const retryAfter = res.headers.get("retry-after");
    expect(retryAfter).toMatch(/^[1-9]\d*$/);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    const body = await errorBody(res);
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0]!.code).toBe("rate_limited");
    expect(body.errors[0]!.message).toContain("rate limit");
    expect(body.errors[0]!.message).not.toContain(a.key);
  }
  for (const res of burst.filter((r) => r.status === 200)) await res.arrayBuffer();

  // Another key has its own bucket, even right after the first key was limited.
  const theirs = await Promise.all(Array.from({ length: LIMIT }, () => a.api("GET", "/webhooks", { key: other })));
  expect(theirs.map((r) => r.status)).toEqual(Array(LIMIT).fill(200));
  for (const res of theirs) await res.arrayBuffer();

  // An unknown key is refused as such (401), not rate limited.
  const bad = await a.api("GET", "/webhooks", { key: "hookd_not-a-real-key-000000000000000000" });
  expect(bad.status).toBe(401);
  await bad.arrayBuffer();

  // Honouring Retry-After works: the first key is served again no later than it said.
  const wait = Math.max(...limited.map((r) => Number(r.headers.get("retry-after"))));
  const servedAfterMs = await eventually(
    async () => {
      const again = await a.api("GET", "/webhooks");
      await again.arrayBuffer();
      return again.status === 200 && Date.now() - limitedAt;
    },
    { timeoutMs: 10_000, intervalMs: 50 },
  );
  expect(servedAfterMs).toBeLessThanOrEqual(wait * 1000);
}, 30_000);

test("rate_limit = 0 turns the limit off", async () => {
  app = await startTestApp({ server: { rate_limit: 0 } });
  const a = app;
  const burst = await Promise.all(Array.from({ length: 50 }, () => a.api("GET", "/webhooks")));
  expect(burst.map((r) => r.status)).toEqual(Array(50).fill(200));
  for (const res of burst) await res.arrayBuffer();
}, 30_000);
