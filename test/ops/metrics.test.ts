// GET /metrics as an operator's Prometheus sees it: every scrape parses with a strict parser
// of the text format, and the figures move as events flow through hookd — from the API,
// from a tailed Postfix log, to a receiver that goes down and comes back.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { SourceSchema } from "../../src/config/schema.ts";
import { createWebhook, eventsOf, eventuallyValue, makeEvents, postEvents, startDeliveryApp } from "../helpers/delivery.ts";
import { eventually } from "../helpers/eventually.ts";
import { testResources } from "../helpers/hookd.ts";
import { tempDir } from "../helpers/hookd.ts";
import { parseExposition, type Exposition } from "../helpers/prometheus.ts";

const t = testResources();

async function scrape(url: string): Promise<Exposition> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
  return parseExposition(await res.text());
}

const POSTFIX_LINES = [
  "Nov 23 13:07:01 mx1 postfix/smtpd[1001]: 4BCD21C03F2: client=unknown[192.0.2.10]",
  "Nov 23 13:07:01 mx1 postfix/cleanup[1003]: 4BCD21C03F2: message-id=<m1@example.com>",
  "Nov 23 13:07:01 mx1 postfix/qmgr[1002]: 4BCD21C03F2: from=<a@example.com>, size=1234, nrcpt=1 (queue active)",
  "Nov 23 13:07:02 mx1 postfix/smtp[1004]: 4BCD21C03F2: to=<b@example.org>, relay=mx.example.org[198.51.100.7]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 12345)",
];
const GARBAGE_LINES = ["this is not a syslog line", '%%% \u0001 garbage "quoted" \\ line'];

describe("GET /metrics", () => {
  test("is valid exposition, and its counters and gauges follow events from the API, a log source and a receiver outage", async () => {
    const dir = tempDir();
    // A source path with characters that must be escaped in a label value.
    const logDir = path.join(dir, 'logs "quoted" \\ dir');
    fs.mkdirSync(logDir);
    const logPath = path.join(logDir, "mail.log");
    fs.writeFileSync(logPath, "");
    const rx = await t.receiver();
    const app = t.track(
      await startDeliveryApp({
        config: {
          delivery: { batch_max_wait: 20 },
          sources: [SourceSchema.parse({ path: logPath, format: "postfix", start_at: "beginning", host: "mx1" })],
        },
      }),
    );
    const a = app;

    // Before anything flows: valid, with the store size and the families announced.
    let m = await scrape(a.url);
    for (const name of [
      "hookd_events_total",
      "hookd_batches_total",
      "hookd_attempt_duration_seconds",
      "hookd_source_lines_total",
      "hookd_source_lines_not_understood_total",
      "hookd_queue_depth",
      "hookd_oldest_pending_age_seconds",
      "hookd_store_bytes",
    ]) {
      expect(m.families.get(name)?.help.length ?? 0).toBeGreaterThan(0);
    }
    expect(m.families.get("hookd_events_total")!.type).toBe("counter");
    expect(m.families.get("hookd_attempt_duration_seconds")!.type).toBe("histogram");
    expect(m.families.get("hookd_queue_depth")!.type).toBe("gauge");
    expect(m.value("hookd_store_bytes")).toBeGreaterThan(0);
    const deliveredBefore = m.value("hookd_events_total", { origin: "api", type: "delivery" }) ?? 0;

    const hook = await createWebhook(a, `${rx.url}/in`);
    m = await scrape(a.url);
    expect(m.value("hookd_queue_depth", { webhook: hook.id })).toBe(0);
    expect(m.value("hookd_oldest_pending_age_seconds", { webhook: hook.id })).toBe(0);

    // Events through the API: counted by type with origin "api".
    await postEvents(a, [...makeEvents(3, "m-deliv"), ...makeEvents(2, "m-open", { type: "open" })]);
    m = await scrape(a.url);
    expect(m.value("hookd_events_total", { origin: "api", type: "delivery" })).toBe(deliveredBefore + 3);
    expect(m.value("hookd_events_total", { origin: "api", type: "open" })).toBe(2);

    // Delivered: a delivered batch and an attempt duration observed for this webhook.
    await rx.waitFor((reqs) => reqs.flatMap((r) => eventsOf(r)).length >= 5, 10_000);
    m = await eventuallyValue(async () => {
      const s = await scrape(a.url);
      return (s.value("hookd_batches_total", { outcome: "delivered", webhook: hook.id }) ?? 0) >= 1 && s;
    });
    const delivered1 = m.value("hookd_batches_total", { outcome: "delivered", webhook: hook.id })!;
    const count1 = m.value("hookd_attempt_duration_seconds_count", { webhook: hook.id })!;
    expect(count1).toBeGreaterThanOrEqual(delivered1);
    expect(m.value("hookd_attempt_duration_seconds_bucket", { webhook: hook.id, le: "+Inf" })).toBe(count1);
    expect(m.value("hookd_attempt_duration_seconds_sum", { webhook: hook.id })).toBeGreaterThan(0);
    await eventually(async () => (await scrape(a.url)).value("hookd_queue_depth", { webhook: hook.id }) === 0);

    // The receiver goes down: events wait, the depth gauge shows them, failed attempts count.
    await rx.close();
    const requestsBeforeOutage = rx.requests.length;
    await postEvents(a, makeEvents(4, "m-outage"));
    m = await eventuallyValue(async () => {
      const s = await scrape(a.url);
      return (
        (s.value("hookd_queue_depth", { webhook: hook.id }) ?? 0) > 0 &&
        (s.value("hookd_batches_total", { outcome: "retry", webhook: hook.id }) ?? 0) >= 1 &&
        s
      );
    });
    expect(m.value("hookd_queue_depth", { webhook: hook.id })).toBeGreaterThanOrEqual(4);
    expect(m.value("hookd_oldest_pending_age_seconds", { webhook: hook.id })).toBeGreaterThanOrEqual(0);
    expect(m.value("hookd_attempt_duration_seconds_count", { webhook: hook.id })).toBeGreaterThan(count1);
    expect(rx.requests.length).toBe(requestsBeforeOutage);

    // It recovers: the queue drains to 0 and a second delivered batch is counted.
    await rx.restart();
    await rx.waitFor((reqs) => reqs.flatMap((r) => eventsOf(r)).some((e) => e.event_id === "m-outage-000004"), 15_000);
    m = await eventuallyValue(async () => {
      const s = await scrape(a.url);
      return s.value("hookd_queue_depth", { webhook: hook.id }) === 0 && s;
    });
    expect(m.value("hookd_batches_total", { outcome: "delivered", webhook: hook.id })).toBeGreaterThan(delivered1);
    expect(m.value("hookd_oldest_pending_age_seconds", { webhook: hook.id })).toBe(0);

    // A log source: lines counted by source, garbage counted as not understood, events by origin.
    fs.appendFileSync(logPath, [...POSTFIX_LINES, ...GARBAGE_LINES].join("\n") + "\n");
    // Lines and events reach /metrics in separate notes from the ingest thread: wait for both.
    m = await eventuallyValue(async () => {
      const s = await scrape(a.url);
      const lines = s.value("hookd_source_lines_total", { source: logPath }) === POSTFIX_LINES.length + GARBAGE_LINES.length;
      return lines && s.value("hookd_events_total", { origin: logPath, type: "delivery" }) !== undefined && s;
    });
    expect(m.value("hookd_source_lines_not_understood_total", { source: logPath })).toBe(GARBAGE_LINES.length);
    expect(m.value("hookd_events_total", { origin: logPath, type: "injection" })).toBe(1);
    expect(m.value("hookd_events_total", { origin: logPath, type: "delivery" })).toBe(1);

    // More lines: the counters only go up, by exactly what was appended.
    fs.appendFileSync(logPath, "more garbage\n" + POSTFIX_LINES[0] + "\n");
    m = await eventuallyValue(async () => {
      const s = await scrape(a.url);
      return s.value("hookd_source_lines_total", { source: logPath }) === POSTFIX_LINES.length + GARBAGE_LINES.length + 2 && s;
    });
    expect(m.value("hookd_source_lines_not_understood_total", { source: logPath })).toBe(GARBAGE_LINES.length + 1);
    expect(m.value("hookd_store_bytes")).toBeGreaterThan(0);
  }, 60_000);

  test("needs no API key, and carries webhook ids but never targets or secrets", async () => {
    const rx = await t.receiver();
    const app = t.track(await startDeliveryApp({ config: { delivery: { batch_max_wait: 20 } } }));
    const target = `${rx.url}/secret-path-xyz`;
    const hook = await createWebhook(app, target, { auth_type: "token", auth_token: "tok-very-secret" });
    await postEvents(app, makeEvents(1, "m-nokey"));
    await rx.waitFor((r) => r.length >= 1);
    const res = await fetch(`${app.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const m = parseExposition(text);
    expect(m.value("hookd_queue_depth", { webhook: hook.id })).toBeDefined();
    for (const secret of [target, "secret-path-xyz", "tok-very-secret", hook.secret, app.key]) expect(text).not.toContain(secret);
  }, 30_000);
});
