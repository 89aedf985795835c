import { describe, expect, test } from "bun:test";
import path from "node:path";
import type { Event } from "../../src/events/schema.ts";
import { createApiKey } from "../../src/store/sqlite/keys.ts";
import { eventually } from "../helpers/eventually.ts";
import { tempDir, testResources, type TestApp } from "../helpers/hookd.ts";
import { parseExposition } from "../helpers/prometheus.ts";
import type { Receiver } from "../helpers/receiver.ts";
import { fixture } from "./helpers.ts";
import { LmtpClient } from "./lmtp-client.ts";
import { sqliteOf } from "../../src/store/sqlite/driver.ts";

// The feedback intake inside the real hookd (startHookd on port 0, a temp store, a real
// receiver): LMTP in, events committed in the store, the webhook gets them; /status and
// /metrics show what came in.

const r = testResources();
const FEEDBACK_TYPES = ["out_of_band", "spam_complaint", "list_unsubscribe", "delay"];

async function hookdWithFeedback(feedback: Record<string, unknown> = {}): Promise<{ app: TestApp; rx: Receiver; port: number }> {
  const rx = await r.receiver();
  const app = await r.app({ feedback: { listen: "127.0.0.1:0", ...feedback }, delivery: { batch_max_wait: 50 } });
  const res = await app.api("POST", "/webhooks", {
    body: { name: "fb", target: `${rx.url}/hook`, events: FEEDBACK_TYPES, verification: "none" },
  });
  expect(res.status).toBe(201);
  return { app, rx, port: app.hookd.feedback!.port! };
}

async function post(app: TestApp, events: object[]) {
  const res = await app.api("POST", "/events", { body: events });
  expect(res.status).toBe(200);
}

/** Feedback events in the store, oldest first. */
function stored(app: TestApp): Event[] {
  return (
    sqliteOf(app.hookd.store).query("SELECT body FROM events WHERE source = 'feedback' ORDER BY seq").all() as { body: string }[]
  ).map((x) => JSON.parse(x.body) as Event);
}

const received = (rx: Receiver) => rx.requests.flatMap((q) => q.json() as Event[]);

async function lmtp(port: number | string, mailFrom: string, rcpts: string[], file: string | Uint8Array) {
  const c = await LmtpClient.connect(port);
  try {
    return await c.send(mailFrom, rcpts, typeof file === "string" ? fixture(file) : file);
  } finally {
    await c.quit();
  }
}

const GOOGLE_MID = "222222EA-20C2-2200-EEEE-2222CEEEEA21@example.jp";

describe("hookd with [feedback] listen", () => {
  test("a DSN about a stored message: one out_of_band with the original's fields reaches the webhook; the same DSN again adds nothing", async () => {
    const { app, rx, port } = await hookdWithFeedback();
    await post(app, [
      {
        type: "injection",
        host: "mx1",
        queue_id: "7F3A2B1C0D",
        message_id: GOOGLE_MID,
        mail_from: "news@example.jp",
        rcpt_to: "someone@example.org",
      },
      {
        type: "injection",
        host: "mx1",
        queue_id: "7F3A2B1C0D",
        message_id: GOOGLE_MID,
        mail_from: "news@example.jp",
        rcpt_to: "michitsuna@example.org",
        campaign_id: "c7",
        tags: ["news"],
      },
    ]);
    const first = await lmtp(port, "", ["bounces@feedback.example.com"], "sisimai/rhost-google-06.eml");
    expect(first.data).toEqual(["250 2.6.0 dsn: 1 event"]);
    // 250 came after the commit: the event is in the store now.
    const [e] = stored(app);
    expect(e).toMatchObject({
      type: "out_of_band",
      host: "mx1",
      queue_id: "7F3A2B1C0D",
      message_id: GOOGLE_MID,
      mail_from: "news@example.jp",
      rcpt_to: "michitsuna@example.org",
      campaign_id: "c7",
      tags: ["news"],
      dsn: "5.7.25",
      bounce_class: "auth",
    });
    const again = await lmtp(port, "", ["bounces@feedback.example.com"], "sisimai/rhost-google-06.eml");
    expect(again.data).toEqual(["250 2.6.0 dsn: 1 event"]);
    expect(stored(app)).toHaveLength(1);
    await rx.waitFor(() => received(rx).length >= 1);
    await eventually(
      async () =>
        ((await (await app.api("GET", "/status")).json()) as { results: { webhooks: { queue_depth: number }[] } }).results.webhooks[0]!
          .queue_depth === 0,
    );
    expect(received(rx).map((x) => [x.type, x.event_id])).toEqual([["out_of_band", e!.event_id]]);
  });

  test("ARF samples (RFC 5965, sisimai) give spam_complaint for the right recipients; a redacted one takes the stored message's", async () => {
    const { app, rx, port } = await hookdWithFeedback();
    await post(app, [
      // RFC 5965's example complaint names no recipient; its Message-ID does.
      {
        type: "injection",
        host: "mx1",
        queue_id: "A1B2C3D4E5",
        message_id: "8787KJKJ3K4J3K4J3K4J3.mail@example.net",
        rcpt_to: "victim@example.com",
      },
      // arf-12 is an opt-out report without Original-Rcpt-To.
      {
        type: "delivery",
        host: "mx1",
        queue_id: "F6E5D4C3B2",
        message_id: "0000000000000000000000000@example.net",
        rcpt_to: "leaver@example.net",
      },
    ]);
    const files = [
      "rfc/rfc5965-minimal.eml",
      "rfc/rfc5965-extended.eml",
      ...["01", "02", "12", "14", "16", "18", "22", "25", "26"].map((n) => `sisimai/arf-${n}.eml`),
    ];
    for (const f of files) expect((await lmtp(port, "fbl@isp.example", ["fbl@feedback.example.com"], f)).data[0]).toStartWith("250 2.6.0 ");
    const got = stored(app).map((e) => {
      const x = e as Record<string, unknown>;
      return [x.type, x.rcpt_to, x.feedback_type ?? null, x.queue_id ?? null].join(" ");
    });
    expect(got).toEqual([
      "spam_complaint victim@example.com abuse A1B2C3D4E5",
      // The report names its recipient: that one, with the message's queue id.
      "spam_complaint user@example.com abuse A1B2C3D4E5",
      "spam_complaint redacted@example.net abuse ",
      "spam_complaint this-local-part-does-not-exist-on-yahoo@yahoo.com abuse ",
      "list_unsubscribe leaver@example.net  F6E5D4C3B2",
      "spam_complaint kijitora@y.example.com abuse ",
      ...[
        "kijitora@example.com",
        "sironeko@example.com",
        "mikeneko@example.com",
        "sabatora@example.com",
        "sirokiji@example.org",
        "kuroneko@example.com",
        "sabineko@example.com",
      ].map((a) => `spam_complaint ${a} abuse `),
      // arf-18 is an auth-failure report: no complaint by a recipient. arf-26 is no report.
      "spam_complaint kijitora@example.com abuse ",
      "spam_complaint hashed@example.com abuse ",
    ]);
    await rx.waitFor(() => received(rx).length === got.length);
    const status = ((await (await app.api("GET", "/status")).json()) as { results: { feedback: Record<string, unknown> } }).results
      .feedback;
    expect(status).toMatchObject({ received: { complaint: 10, not_a_report: 1 }, matched: { message_id: 3, none: 7 }, events: 15 });
  });

  test("the store refusing writes: 451 4.3.0 for every recipient, nothing stored; the MTA's retry stores the events once", async () => {
    const { app, port } = await hookdWithFeedback();
    const db = sqliteOf(app.hookd.store);
    db.run("PRAGMA query_only = ON"); // every write now fails: "attempt to write a readonly database"
    try {
      const refused = await lmtp(port, "", ["a@feedback.example.com", "b@feedback.example.com"], "sisimai/lhost-postfix-02.eml");
      expect(refused.data).toHaveLength(2);
      for (const line of refused.data) expect(line).toStartWith("451 4.3.0 cannot store the report now, try again later");
    } finally {
      db.run("PRAGMA query_only = OFF");
    }
    expect(stored(app)).toEqual([]);
    const retried = await lmtp(port, "", ["a@feedback.example.com", "b@feedback.example.com"], "sisimai/lhost-postfix-02.eml");
    expect(retried.data).toEqual(["250 2.6.0 dsn: 2 events", "250 2.6.0 dsn: 2 events"]);
    expect(stored(app).map((e) => (e as { rcpt_to?: string }).rcpt_to)).toEqual(["filtered@example.co.jp", "userunknown@example.co.jp"]);
    const metrics = parseExposition(await (await fetch(`${app.url}/metrics`)).text());
    expect(metrics.value("hookd_feedback_commit_failures_total", {})).toBe(1);
    expect(metrics.value("hookd_feedback_messages_total", { kind: "dsn" })).toBe(1);
    expect(metrics.value("hookd_events_total", { type: "out_of_band", origin: "feedback" })).toBe(2);
  });

  test("a DSN from one of our own MTAs (local_mtas) is counted, not an event; a message over max_size is 552", async () => {
    const { app, port } = await hookdWithFeedback({ local_mtas: ["Rokujo.cr.nyaan.jp."], max_size: 10_000 });
    expect((await lmtp(port, "", ["bounces@feedback.example.com"], "sisimai/lhost-postfix-57.eml")).data).toEqual([
      "250 2.6.0 dsn: 0 events",
    ]);
    const big = new TextEncoder().encode(`Subject: big\r\n\r\n${"x".repeat(70)}\r\n`.repeat(200));
    expect((await lmtp(port, "", ["bounces@feedback.example.com"], big)).data[0]).toStartWith("552 5.3.4 ");
    expect(stored(app)).toEqual([]);
    const metrics = parseExposition(await (await fetch(`${app.url}/metrics`)).text());
    expect(metrics.value("hookd_feedback_own_dsns_total", {})).toBe(1);
    expect(metrics.value("hookd_feedback_too_large_total", {})).toBe(1);
    expect(metrics.value("hookd_feedback_matched_total", { via: "none" })).toBe(1);
  });

  test("/status: counters for webhooks:read, the unparsed samples (addresses, text) only with events:read too", async () => {
    const { app, port } = await hookdWithFeedback();
    await lmtp(port, "alice@example.org", ["bounces@feedback.example.com"], "sisimai/is-not-bounce-01.eml");
    const readOnly = (await app.hookd.store.keys.create("ro", ["webhooks:read"], Date.now())).key;
    const narrow = (
      (await (await app.api("GET", "/status", { key: readOnly })).json()) as { results: { feedback: Record<string, unknown> } }
    ).results.feedback;
    expect(narrow).toMatchObject({ listen: `127.0.0.1:${port}`, received: { not_a_report: 1 }, unparsed: null });
    const full = ((await (await app.api("GET", "/status")).json()) as { results: { feedback: { unparsed: Record<string, unknown>[] } } })
      .results.feedback;
    expect(full.unparsed).toHaveLength(1);
    expect(full.unparsed[0]).toMatchObject({
      reason: "not a bounce, complaint or unsubscribe mail",
      mail_from: "alice@example.org",
      rcpt_to: ["bounces@feedback.example.com"],
    });
    expect(full.unparsed[0]!.excerpt).toContain("From: Kijitora <shironeko@example.com>");
  });

  test("without [feedback] listen: no listener, status.feedback is null, no feedback metrics", async () => {
    const app = await r.app();
    expect(app.hookd.feedback).toBeNull();
    const status = ((await (await app.api("GET", "/status")).json()) as { results: { feedback: unknown } }).results;
    expect(status.feedback).toBeNull();
    expect(await (await fetch(`${app.url}/metrics`)).text()).not.toContain("hookd_feedback_");
  });

  test("listen = unix:/path: LMTP over a socket (mode 0666), removed at stop", async () => {
    const sock = path.join(tempDir(), "lmtp.sock");
    const app = await r.app({ feedback: { listen: `unix:${sock}` } });
    expect(app.hookd.feedback).toEqual({ listening: `unix:${sock}`, port: null });
    expect((await Bun.file(sock).exists()) || (await import("node:fs")).statSync(sock).isSocket()).toBe(true);
    expect((await import("node:fs")).statSync(sock).mode & 0o777).toBe(0o666);
    expect((await lmtp(sock, "", ["bounces@feedback.example.com"], "sisimai/lhost-postfix-01.eml")).data).toEqual([
      "250 2.6.0 dsn: 1 event",
    ]);
    await app.stop();
    expect((await import("node:fs")).existsSync(sock)).toBe(false);
  });
});
