// SIGTERM while batches are in flight to a slow receiver: the real `bun src/main.ts serve`
// exits 0 within the delivery timeout, and after a restart on the same store every event
// reaches the receiver at least once.
import { afterEach, expect, test } from "bun:test";
import path from "node:path";
import { eventuallyValue, eventsOf, ids, makeEvents } from "../helpers/delivery.ts";
import { eventually } from "../helpers/eventually.ts";
import { spawnHookd, tempDir, within, type SpawnedHookd } from "../helpers/hookd.ts";
import { startReceiver, type Receiver } from "../helpers/receiver.ts";

const TOTAL = 60;
const BATCH = 4;
const RESPONSE_DELAY_MS = 300;
const TIMEOUT_MS = 3000;

let rx: Receiver | null = null;
const procs: SpawnedHookd[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) if (p.proc.exitCode === null && p.proc.signalCode === null) await p.stop(5000);
  await rx?.stop();
  rx = null;
});

async function call(url: string, key: string, method: string, pathname: string, body?: unknown): Promise<Response> {
  return fetch(`${url}/api/v1${pathname}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
}

const receivedIds = (r: Receiver) => new Set(r.requests.flatMap((req) => eventsOf(req).map((e) => e.event_id)));

test(`SIGTERM mid-delivery: exit 0 within delivery.timeout, and after a restart all ${TOTAL} events arrive`, async () => {
  const dir = tempDir();
  rx = await startReceiver();
  rx.respondWith({ status: 200, delayMs: RESPONSE_DELAY_MS });
  const env = {
    HOOKD_STORAGE_PATH: path.join(dir, "hookd.db"),
    HOOKD_DELIVERY_BATCH_MAX_EVENTS: String(BATCH),
    HOOKD_DELIVERY_BATCH_MAX_WAIT: "20ms",
    HOOKD_DELIVERY_TIMEOUT: `${TIMEOUT_MS}ms`,
  };
  const first = await spawnHookd({ cwd: dir, env });
  procs.push(first);
  const key = await eventuallyValue(() => /hookd_[A-Za-z0-9_-]{30,}/.exec(first.stderr())?.[0], { timeoutMs: 5000 });
  const created = await call(first.url, key, "POST", "/webhooks", {
    name: "slow",
    target: `${rx.url}/in`,
    events: ["*"],
    verification: "none",
  });
  expect(created.status).toBe(201);

  const events = makeEvents(TOTAL, "term");
  const posted = await call(first.url, key, "POST", "/events", events);
  expect(posted.status).toBe(200);

  // Mid-delivery: a few batches answered, one being answered now, most still queued.
  await rx.waitFor((r) => r.length >= 3, 10_000);
  expect(receivedIds(rx).size).toBeLessThan(TOTAL);
  const t0 = Date.now();
  first.proc.kill("SIGTERM");
  const code = await within(first.exited, TIMEOUT_MS, "still running" as const);
  const stopMs = Date.now() - t0;
  expect({ code, stderr: code === 0 ? "" : first.stderr() }).toEqual({ code: 0, stderr: "" });
  expect(stopMs).toBeLessThanOrEqual(TIMEOUT_MS);
  expect(first.stderr()).toContain("SIGTERM received, stopping");
  const stoppedLog = first.stdoutLines.some((l) => l.includes('"hookd stopped"'));
  expect(stoppedLog).toBe(true);
  const beforeRestart = receivedIds(rx).size;
  expect(beforeRestart).toBeLessThan(TOTAL);

  // Restart on the same store: the rest is delivered; nothing is lost.
  const second = await spawnHookd({ cwd: dir, env });
  procs.push(second);
  await eventually(() => receivedIds(rx!).size === TOTAL, { timeoutMs: 30_000, intervalMs: 100 });
  expect([...receivedIds(rx)].sort()).toEqual(ids(events).sort());
  // Batches were cut in order and, with max_in_flight 1, arrive in order too.
  const firstArrival: string[] = [];
  const seen = new Set<string>();
  for (const req of rx.requests)
    for (const e of eventsOf(req)) if (!seen.has(e.event_id)) seen.add(e.event_id), firstArrival.push(e.event_id);
  expect(firstArrival).toEqual(ids(events));
  expect(await second.stop(10_000)).toBe(0);
}, 60_000);

test("SIGTERM while the receiver hangs: the attempt in flight is cut at delivery.timeout, exit 0, and its batch is resent after a restart", async () => {
  const dir = tempDir();
  rx = await startReceiver();
  rx.hang();
  const timeoutMs = 1500;
  const env = {
    HOOKD_STORAGE_PATH: path.join(dir, "hookd.db"),
    HOOKD_DELIVERY_BATCH_MAX_EVENTS: "10",
    HOOKD_DELIVERY_BATCH_MAX_WAIT: "20ms",
    HOOKD_DELIVERY_TIMEOUT: `${timeoutMs}ms`,
  };
  const first = await spawnHookd({ cwd: dir, env });
  procs.push(first);
  const key = await eventuallyValue(() => /hookd_[A-Za-z0-9_-]{30,}/.exec(first.stderr())?.[0], { timeoutMs: 5000 });
  expect(
    (await call(first.url, key, "POST", "/webhooks", { name: "hung", target: `${rx.url}/in`, events: ["*"], verification: "none" })).status,
  ).toBe(201);
  const events = makeEvents(25, "hung");
  expect((await call(first.url, key, "POST", "/events", events)).status).toBe(200);
  await rx.waitFor((r) => r.length >= 1, 10_000);

  const t0 = Date.now();
  first.proc.kill("SIGTERM");
  // The attempt started just before; stop waits for it, and it cannot outlast its timeout.
  const code = await within(first.exited, timeoutMs + 2000, "still running" as const);
  expect({ code, stderr: code === 0 ? "" : first.stderr() }).toEqual({ code: 0, stderr: "" });
  expect(Date.now() - t0).toBeLessThanOrEqual(timeoutMs + 2000);

  rx.respondWith({ status: 200 });
  const second = await spawnHookd({ cwd: dir, env });
  procs.push(second);
  await eventually(() => receivedIds(rx!).size === events.length, { timeoutMs: 20_000, intervalMs: 100 });
  expect([...receivedIds(rx)].sort()).toEqual(ids(events).sort());
  expect(await second.stop(10_000)).toBe(0);
}, 60_000);
