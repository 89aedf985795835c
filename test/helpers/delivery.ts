// Helpers for the delivery tests: hookd in-process with a fast retry policy (its delivery
// run by its loop, or stepped by the test on a test clock), webhooks and events through the
// real API, and views of what a receiver got (batches, events, order).
import { expect } from "bun:test";
import { startHookd, type StartOptions } from "../../src/app.ts";
import type { Engine } from "../../src/deliver/engine.ts";
import type { RetryPolicy } from "../../src/deliver/retry-policy.ts";
import { silentLogger, type Logger } from "../../src/lib/log.ts";
import { onTestDriver, tempDir, testConfig, type TestApp, type TestConfigOverrides } from "./hookd.ts";
import { eventually, type EventuallyOptions } from "./eventually.ts";
import type { RecordedRequest } from "./receiver.ts";

/** Backoff short enough that a test sees several retries in a second. */
export const FAST_RETRY: Partial<RetryPolicy> = { baseMs: 50, maxMs: 500, floorAfterTimeoutMs: 100 };

/** The event_id of the sample a test_post verification sends to a webhook on "*" or "delivery" (others: sample-<type>-0). */
export const SAMPLE_EVENT_ID = "sample-delivery-0";

export type DeliveryApp = TestApp;

export type DeliveryAppOptions = {
  config?: TestConfigOverrides;
  retryPolicy?: Partial<RetryPolicy>;
  log?: Logger;
  engine?: StartOptions["engine"];
};

/** hookd in-process (the real composition root) on 127.0.0.1:0 with a temp store. */
export async function startDeliveryApp(opts: DeliveryAppOptions = {}): Promise<DeliveryApp> {
  const dir = tempDir();
  const config = await onTestDriver(testConfig(opts.config ?? {}, dir), opts.config ?? {});
  let key: string | null = null;
  const hookd = await startHookd({
    config,
    log: opts.log ?? silentLogger,
    announceKey: (k) => (key = k),
    retryPolicy: opts.retryPolicy ?? FAST_RETRY,
    engine: opts.engine,
  });
  if (key === null) {
    await hookd.stop();
    throw new Error("startDeliveryApp: no admin key was announced");
  }
  const adminKey: string = key;
  return {
    url: hookd.url,
    key: adminKey,
    hookd,
    config,
    dir,
    api(method, pathname, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      const k = o.key === undefined ? adminKey : o.key;
      if (k !== null && headers.authorization === undefined) headers.authorization = `Bearer ${k}`;
      const body = o.rawBody ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
      if (body !== undefined && headers["content-type"] === undefined) headers["content-type"] = "application/json";
      return fetch(`${hookd.url}/api/v1${pathname.startsWith("/") ? pathname : `/${pathname}`}`, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(20_000),
      });
    },
    stop: () => hookd.stop(),
  };
}

/**
 * The engine's clock in a stepped app: real time plus whatever the test skipped. It is
 * never behind the rest of hookd, which stamps events and API changes with Date.now, so
 * whatever those stamp is already past for the engine; only skips move it further ahead.
 * Real time still runs, so "not yet" checks keep a margin of a second or more. Rows the
 * engine stamps (a cut batch's created_at) sort after rows the API stamps meanwhile.
 */
export type TestClock = { now(): number; advance(ms: number): void };

export function testClock(): TestClock {
  let skipped = 0;
  return {
    now: () => Date.now() + skipped,
    advance(ms) {
      skipped += ms;
    },
  };
}

export type SteppedApp = DeliveryApp & {
  engine: Engine;
  clock: TestClock;
  /** Runs delivery passes until the engine has nothing left to do now (attempts ended and recorded). */
  deliver(): Promise<void>;
  /** Moves the engine's clock on by `ms`, then deliver(). */
  after(ms: number): Promise<void>;
};

/**
 * hookd whose delivery runs only when the test says so: no loop, passes by deliver(),
 * after() or engine.tick(), on a clock the test moves. What the engine did by the time
 * deliver() returns is all it will do until the clock moves or something changes.
 */
export async function startSteppedApp(opts: Omit<DeliveryAppOptions, "engine"> & { random?: () => number } = {}): Promise<SteppedApp> {
  const clock = testClock();
  // Retry jitter fixed mid-range unless a test brings its own: a draw near 0 would retry
  // within the same step the failure happened in, and the test would depend on luck.
  const app = await startDeliveryApp({ ...opts, engine: { now: clock.now, random: opts.random ?? (() => 0.5), manual: true } });
  const engine = app.hookd.engine;
  return {
    ...app,
    engine,
    clock,
    deliver: () => engine.runUntilIdle(),
    after(ms) {
      clock.advance(ms);
      return engine.runUntilIdle();
    },
  };
}

type Api = Pick<TestApp, "api">;

/** eventually() for a value: resolves with fn's first non-null (truthy) result. */
export async function eventuallyValue<T>(
  fn: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  opts?: EventuallyOptions,
): Promise<T> {
  return (await eventually(fn, opts)) as T;
}

/** The `results` of a response that must have `status`; fails with the body otherwise. */
export async function results<T = Record<string, unknown>>(res: Response | Promise<Response>, status = 200): Promise<T> {
  const r = await res;
  const text = await r.text();
  if (r.status !== status) throw new Error(`expected HTTP ${status}, got ${r.status}: ${text.slice(0, 500)}`);
  return (JSON.parse(text) as { results: T }).results;
}

export type CreatedWebhook = { id: string; secret: string };

/** POST /webhooks; verification "none" unless given, so no test POST disturbs the receiver. */
export async function createWebhook(app: Api, target: string, fields: Record<string, unknown> = {}): Promise<CreatedWebhook> {
  const body = { name: "test", target, events: ["*"], verification: "none", ...fields };
  return results<CreatedWebhook>(app.api("POST", "/webhooks", { body }), 201);
}

export type WebhookInfo = {
  id: string;
  status: string;
  active: boolean;
  dead_batches: number;
  pending_batches: number;
  queue_depth: number;
  last_successful: string | null;
  last_failure: string | null;
  last_failure_code: string | null;
};

export const getWebhook = (app: Api, id: string) => results<WebhookInfo>(app.api("GET", `/webhooks/${id}`));

export type BatchStatus = {
  batch_id: string;
  ts: string;
  attempts: number;
  response_code: string | null;
  failure_code: string | null;
  state: "pending" | "delivered" | "dead";
  kind: "live" | "replay";
  events: number;
  bytes: number;
  next_attempt: string | null;
};

export const batchStatus = (app: Api, id: string, query = "") =>
  results<BatchStatus[]>(app.api("GET", `/webhooks/${id}/batch-status${query}`));

export type EventIn = {
  type: string;
  event_id?: string;
  timestamp?: string;
  rcpt_to?: string;
  mail_from?: string;
  host?: string;
  [k: string]: unknown;
};

/** `n` delivery events with ids `${prefix}-000001`…, in that order. */
export function makeEvents(n: number, prefix: string, fields: Partial<EventIn> = {}): EventIn[] {
  return Array.from({ length: n }, (_, i) => ({
    type: "delivery",
    event_id: `${prefix}-${String(i + 1).padStart(6, "0")}`,
    rcpt_to: `user${i}@example.org`,
    ...fields,
  }));
}

/** POST /events in requests of at most `chunk` events; each must be stored (2xx). */
export async function postEvents(app: Api, events: readonly EventIn[], chunk = 10_000): Promise<void> {
  for (let i = 0; i < events.length; i += chunk) {
    const part = events.slice(i, i + chunk);
    const r = await results<{ accepted: number; event_ids: string[] }>(app.api("POST", "/events", { body: part }));
    expect(r.event_ids.length).toBe(part.length);
  }
}

export type ReceivedEvent = { event_id: string; type: string; timestamp: string; [k: string]: unknown };

export function eventsOf(req: RecordedRequest): ReceivedEvent[] {
  const body = req.json();
  if (!Array.isArray(body)) throw new Error(`batch body is not a JSON array: ${req.body.slice(0, 200)}`);
  return body as ReceivedEvent[];
}

/** Requests that are real batches (not the create-time sample POST, whichever type it samples). */
export function batchRequests(requests: readonly RecordedRequest[], path?: string): RecordedRequest[] {
  return requests.filter((r) => (path === undefined || r.path === path) && !eventsOf(r).some((e) => e.event_id.startsWith("sample-")));
}

/**
 * The batches as the receiver's dedupe would see them: first arrival of each webhook-id.
 * Asserts that every repeat of a webhook-id carried exactly the same body.
 */
export function distinctBatches(requests: readonly RecordedRequest[]): RecordedRequest[] {
  const seen = new Map<string, RecordedRequest>();
  for (const r of requests) {
    const id = r.headers["webhook-id"];
    if (!id) throw new Error("request without webhook-id");
    const first = seen.get(id);
    if (!first) seen.set(id, r);
    else if (first.body !== r.body) throw new Error(`webhook-id ${id} was sent with two different bodies`);
  }
  return [...seen.values()];
}

/** Event ids in the order the receiver got them, each retried batch counted once. */
export function receivedIds(requests: readonly RecordedRequest[]): string[] {
  return distinctBatches(requests).flatMap((r) => eventsOf(r).map((e) => e.event_id));
}

export function ids(events: readonly { event_id?: string }[]): string[] {
  return events.map((e) => e.event_id!);
}
