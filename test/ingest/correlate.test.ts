// Correlation: facts from earlier lines on every event, one injection per recipient, content
// filters, notices, expiry, and a snapshot taken at any line resuming to the same events.
import { describe, expect, test } from "bun:test";
import type { Event } from "../../src/events/schema.ts";
import { createLogParser } from "../../src/ingest/parse/index.ts";
import { corpusLines, corpusSections, NOW } from "./helpers/corpus.ts";
import { run } from "./helpers/parse.ts";

const at = (s: string) => `Nov 23 13:${s} mx1`;
// One message, two recipients: a is deferred (qmgr logs its from= line again on the retry)
// then delivered, b bounces.
const LIFECYCLE = [
  `${at("00:01")} postfix/smtpd[10]: connect from client.example[192.0.2.10]`,
  `${at("00:01")} postfix/smtpd[10]: 4BCD21C03F2: client=client.example[192.0.2.10], sasl_method=PLAIN, sasl_username=app`,
  `${at("00:01")} postfix/cleanup[11]: 4BCD21C03F2: message-id=<20261123.4BCD2@example.com>`,
  `${at("00:02")} postfix/qmgr[12]: 4BCD21C03F2: from=<news@example.com>, size=2048, nrcpt=2 (queue active)`,
  `${at("00:03")} postfix/smtp[13]: Untrusted TLS connection established to mx.example.org[203.0.113.5]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)`,
  `${at("00:04")} postfix/smtp[13]: 4BCD21C03F2: to=<a@example.org>, relay=mx.example.org[203.0.113.5]:25, delay=2, delays=0.1/0/1/0.9, dsn=4.2.2, status=deferred (host mx.example.org[203.0.113.5] said: 452 4.2.2 Mailbox full (in reply to RCPT TO command))`,
  `${at("00:04")} postfix/smtp[14]: 4BCD21C03F2: to=<b@example.net>, relay=mx.example.net[198.51.100.7]:25, delay=2.1, delays=0.1/0/1/1, dsn=5.1.1, status=bounced (host mx.example.net[198.51.100.7] said: 550 5.1.1 <b@example.net>: Recipient address rejected: User unknown (in reply to RCPT TO command))`,
  `${at("00:04")} postfix/cleanup[11]: 9F00A1C0400: message-id=<20261123130004.9F00A1C0400@mx1.example.com>`,
  `${at("00:04")} postfix/bounce[15]: 4BCD21C03F2: sender non-delivery notification: 9F00A1C0400`,
  `${at("00:04")} postfix/qmgr[12]: 9F00A1C0400: from=<>, size=4096, nrcpt=1 (queue active)`,
  `${at("00:05")} postfix/smtp[16]: 9F00A1C0400: to=<news@example.com>, relay=mail.example.com[192.0.2.1]:25, delay=0.4, delays=0/0/0.2/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 77AA)`,
  `${at("00:05")} postfix/qmgr[12]: 9F00A1C0400: removed`,
  `${at("10:04")} postfix/qmgr[12]: 4BCD21C03F2: from=<news@example.com>, size=2048, nrcpt=2 (queue active)`,
  `${at("10:05")} postfix/smtp[13]: 4BCD21C03F2: to=<a@example.org>, relay=mx.example.org[203.0.113.5]:25, delay=603, delays=600/0/1/2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 1234ABCD)`,
  `${at("10:05")} postfix/qmgr[12]: 4BCD21C03F2: removed`,
  `${at("10:06")} postfix/smtpd[10]: NOQUEUE: reject: RCPT from bad.example[198.51.100.66]: 554 5.7.1 <x@example.com>: Relay access denied; from=<spam@bad.example> to=<x@example.com> proto=ESMTP helo=<bad.example>`,
];

const summary = (events: Event[]) =>
  events.map((e) => `${e.type} ${e.rcpt_to ?? "-"}${"attempt" in e && e.attempt ? ` #${e.attempt}` : ""}`);

describe("one message's story", () => {
  test("injection once per recipient, just before its first outcome; retries counted", () => {
    const { events } = run(LIFECYCLE, { format: "postfix" });
    expect(summary(events)).toEqual([
      "injection a@example.org",
      "delay a@example.org #1",
      "injection b@example.net",
      "bounce b@example.net #1",
      "injection news@example.com",
      "delivery news@example.com #1",
      "delivery a@example.org #2",
      "policy_rejection x@example.com",
    ]);
  });

  test("every event carries what earlier lines said", () => {
    const { events } = run(LIFECYCLE, { format: "postfix" });
    for (const e of events.filter((e) => e.rcpt_to !== "news@example.com").slice(0, 5)) {
      expect(e).toMatchObject({
        host: "mx1",
        queue_id: "4BCD21C03F2",
        message_id: "20261123.4BCD2@example.com",
        mail_from: "news@example.com",
        size: 2048,
        nrcpt: 2,
        client_ip: "192.0.2.10",
      });
    }
    // Injections are stamped with the time the message entered the queue, not the retry's.
    expect(events[0]?.timestamp).toBe(new Date(2026, 10, 23, 13, 0, 2).toISOString());
    expect(events[2]?.timestamp).toBe(new Date(2026, 10, 23, 13, 0, 2).toISOString());
    expect(events[1]).toMatchObject({ dsn: "4.2.2", bounce_class: "quota", delay_s: 2 });
    expect(events[3]).toMatchObject({ dsn: "5.1.1", bounce_class: "unknown_user" });
  });

  test("the label replaces the line's host name on events", () => {
    const { events } = run(LIFECYCLE, { format: "postfix", host: "edge-1" });
    expect(new Set(events.map((e) => e.host))).toEqual(new Set(["edge-1"]));
  });

  test("a message that entered the queue before reading began gets no injection", () => {
    const { events } = run(LIFECYCLE.slice(13), { format: "postfix" });
    expect(summary(events)).toEqual(["delivery a@example.org #1", "policy_rejection x@example.com"]);
    expect(events.some((e) => e.queue_id === "9F00A1C0400")).toBe(false);
  });

  test("status=expired without to= expires the recipients still pending, with their last reason", () => {
    const lines = [
      `${at("00:01")} postfix/qmgr[12]: C93CEB08A046: from=<ina@example.com>, size=900, nrcpt=3 (queue active)`,
      `${at("00:02")} postfix/smtp[13]: C93CEB08A046: to=<order@arobor.example>, relay=none, delay=30, delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to arobor.example[178.210.73.19]:25: Connection timed out)`,
      `${at("00:02")} postfix/smtp[13]: C93CEB08A046: to=<ok@example.org>, relay=mx.example.org[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)`,
      `${at("00:02")} postfix/smtp[13]: C93CEB08A046: to=<full@example.org>, relay=mx.example.org[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=4.2.2, status=deferred (452 4.2.2 mailbox full)`,
      `${at("59:28")} postfix/qmgr[12]: C93CEB08A046: from=<ina@example.com>, status=expired, returned to sender`,
      // Some versions also log it per recipient: the same outcome, not a second event.
      `${at("59:28")} postfix/error[17]: C93CEB08A046: to=<order@arobor.example>, relay=none, delay=432000, delays=0/0/0/0, dsn=4.4.1, status=expired, returned to sender`,
    ];
    const { events } = run(lines, { format: "postfix" });
    const expired = events.filter((e) => e.type === "expired");
    expect(expired.map((e) => e.rcpt_to)).toEqual(["order@arobor.example", "full@example.org"]);
    expect(expired[0]).toMatchObject({
      dsn: "4.4.1",
      bounce_class: "network",
      response: "connect to arobor.example[178.210.73.19]:25: Connection timed out",
      attempt: 1,
    });
    expect(expired[1]).toMatchObject({ bounce_class: "quota" });
  });

  test("a bounce notice is mail like any other, its events tied to the message it is about", () => {
    const { events } = run(LIFECYCLE, { format: "postfix" });
    const notice = events.filter((e) => e.queue_id === "9F00A1C0400");
    expect(notice.map((e) => `${e.type} ${e.rcpt_to}`)).toEqual(["injection news@example.com", "delivery news@example.com"]);
    for (const e of notice) {
      expect(e).toMatchObject({
        mail_from: "",
        message_id: "20261123130004.9F00A1C0400@mx1.example.com",
        size: 4096,
        notice: { kind: "bounce", of_queue_id: "4BCD21C03F2", of_message_id: "20261123.4BCD2@example.com" },
      });
    }
    // The notice is the notice's own: the original's events carry none.
    expect(events.filter((e) => e.queue_id === "4BCD21C03F2" && "notice" in e)).toEqual([]);
  });

  test("delay and success notices say so; null-sender mail that is no notice is plain mail", () => {
    const lines = [
      `${at("00:01")} postfix/cleanup[11]: 5A1B2C3D4E: message-id=<orig@example.com>`,
      `${at("00:01")} postfix/qmgr[12]: 5A1B2C3D4E: from=<app@example.com>, size=900, nrcpt=2 (queue active)`,
      `${at("00:02")} postfix/smtp[13]: 5A1B2C3D4E: to=<slow@example.org>, relay=mx.example.org[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=4.2.0, status=deferred (451 4.2.0 try later)`,
      `${at("00:02")} postfix/smtp[13]: 5A1B2C3D4E: to=<dsn@example.org>, relay=mx.example.org[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)`,
      `${at("00:02")} postfix/cleanup[11]: 6B1B2C3D4E: message-id=<20261123130002.6B1B2C3D4E@mx1.example.com>`,
      `${at("00:02")} postfix/bounce[15]: 5A1B2C3D4E: sender delivery status notification: 6B1B2C3D4E`,
      `${at("00:02")} postfix/qmgr[12]: 6B1B2C3D4E: from=<>, size=3000, nrcpt=1 (queue active)`,
      `${at("00:03")} postfix/smtp[16]: 6B1B2C3D4E: to=<app@example.com>, relay=mail.example.com[192.0.2.1]:25, delay=0.4, delays=0/0/0.2/0.2, dsn=2.0.0, status=sent (250 ok)`,
      `${at("40:00")} postfix/qmgr[12]: 5A1B2C3D4E: from=<app@example.com>, size=900, nrcpt=2 (queue active)`,
      `${at("40:01")} postfix/smtp[13]: 5A1B2C3D4E: to=<slow@example.org>, relay=mx.example.org[203.0.113.5]:25, delay=2400, delays=2399/0/0.5/0.5, dsn=4.2.0, status=deferred (451 4.2.0 try later)`,
      `${at("40:01")} postfix/cleanup[11]: 7C1B2C3D4E: message-id=<20261123134001.7C1B2C3D4E@mx1.example.com>`,
      `${at("40:01")} postfix/bounce[15]: 5A1B2C3D4E: sender delay notification: 7C1B2C3D4E`,
      `${at("40:01")} postfix/qmgr[12]: 7C1B2C3D4E: from=<>, size=3100, nrcpt=1 (queue active)`,
      `${at("40:02")} postfix/smtp[16]: 7C1B2C3D4E: to=<app@example.com>, relay=mail.example.com[192.0.2.1]:25, delay=0.5, delays=0/0/0.2/0.3, dsn=4.2.0, status=deferred (451 4.2.0 later)`,
      // A read receipt relayed through this MX: from <>, but not a notice of ours.
      `${at("41:00")} postfix/smtpd[10]: 8D1B2C3D4E: client=other.example[198.51.100.9]`,
      `${at("41:00")} postfix/cleanup[11]: 8D1B2C3D4E: message-id=<receipt@other.example>`,
      `${at("41:00")} postfix/qmgr[12]: 8D1B2C3D4E: from=<>, size=1500, nrcpt=1 (queue active)`,
      `${at("41:01")} postfix/smtp[16]: 8D1B2C3D4E: to=<reader@example.org>, relay=mx.example.org[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)`,
    ];
    const { events } = run(lines, { format: "postfix" });
    const of = (qid: string) => events.filter((e) => e.queue_id === qid);
    expect(of("6B1B2C3D4E").map((e) => e.type)).toEqual(["injection", "delivery"]);
    for (const e of of("6B1B2C3D4E"))
      expect(e).toMatchObject({
        mail_from: "",
        rcpt_to: "app@example.com",
        notice: { kind: "success", of_queue_id: "5A1B2C3D4E", of_message_id: "orig@example.com" },
      });
    expect(of("7C1B2C3D4E").map((e) => e.type)).toEqual(["injection", "delay"]);
    for (const e of of("7C1B2C3D4E"))
      expect(e).toMatchObject({ notice: { kind: "delay", of_queue_id: "5A1B2C3D4E", of_message_id: "orig@example.com" } });
    const relayed = of("8D1B2C3D4E");
    expect(relayed.map((e) => `${e.type} ${e.rcpt_to}`)).toEqual(["injection reader@example.org", "delivery reader@example.org"]);
    for (const e of relayed) {
      expect(e).toMatchObject({ mail_from: "", message_id: "receipt@other.example", client_ip: "198.51.100.9" });
      expect("notice" in e).toBe(false);
    }
  });

  test("a notice's expiry is an event too, and a content filter's copy of a notice stays a notice", () => {
    const lines = [
      `${at("00:01")} postfix/cleanup[11]: 9A00A1C0400: message-id=<20261123130001.9A00A1C0400@mx1.example.com>`,
      `${at("00:01")} postfix/bounce[15]: 1111AAAA11: sender non-delivery notification: 9A00A1C0400`,
      `${at("00:01")} postfix/qmgr[12]: 9A00A1C0400: from=<>, size=2000, nrcpt=1 (queue active)`,
      `${at("00:02")} postfix/lmtp[13]: 9A00A1C0400: to=<gone@example.net>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 9B00A1C0400)`,
      `${at("00:02")} postfix/qmgr[12]: 9B00A1C0400: from=<>, size=2100, nrcpt=1 (queue active)`,
      `${at("00:03")} postfix/smtp[16]: 9B00A1C0400: to=<gone@example.net>, relay=mx.example.net[198.51.100.7]:25, delay=1, delays=0/0/0.5/0.5, dsn=4.4.1, status=deferred (connect to mx.example.net[198.51.100.7]:25: Connection refused)`,
      `${at("59:00")} postfix/qmgr[12]: 9B00A1C0400: from=<>, status=expired, returned to sender`,
    ];
    const { events } = run(lines, { format: "postfix" });
    expect(summary(events)).toEqual(["injection gone@example.net", "delay gone@example.net #1", "expired gone@example.net #1"]);
    // The original was never seen: the notice still names it, without its Message-ID.
    for (const e of events)
      expect(e).toMatchObject({ queue_id: "9A00A1C0400", mail_from: "", notice: { kind: "bounce", of_queue_id: "1111AAAA11" } });
    expect(events.some((e) => "of_message_id" in ((e as { notice?: object }).notice ?? {}))).toBe(false);
  });

  test("repeated identical final lines (MailRoute article) are one event", () => {
    const line = LIFECYCLE[13] ?? "";
    const { events } = run([...LIFECYCLE.slice(0, 13), line, line], { format: "postfix" });
    expect(events.filter((e) => e.type === "delivery" && e.rcpt_to === "a@example.org").length).toBe(1);
  });
});

describe("content filters", () => {
  test("MailRoute article: lmtp hand-off to 127.0.0.1:10024, re-injection with orig_queue_id", () => {
    const { events } = run(corpusLines("mailroute-article-flow.log"), { format: "postfix" });
    expect(summary(events)).toEqual(["injection tj@terramar.net", "delivery tj@terramar.net #1"]);
    const [inj, dlv] = events;
    expect(inj).toMatchObject({ queue_id: "3pJjg82Vycz1JBJG", client_ip: "87.106.245.223", size: 4103, nrcpt: 1 });
    expect(dlv).toMatchObject({
      queue_id: "3pJjg82Vycz1JBJG",
      client_ip: "87.106.245.223",
      relay: "mail.islandemail.com[199.89.1.225]:25",
      message_id: "566E07C4.5020602@rename-it.nl",
      size: 4103,
    });
  });

  test("the real order (re-queued copy logged before the hand-off), across two instances", () => {
    const lines = [
      `${at("00:01")} postfix-in/smtpd[1]: 1111AAAA11: client=ext.example[192.0.2.50]`,
      `${at("00:01")} postfix-in/cleanup[2]: 1111AAAA11: message-id=<m2@example.com>`,
      `${at("00:01")} postfix-in/qmgr[3]: 1111AAAA11: from=<sales@example.com>, size=1000, nrcpt=1 (queue active)`,
      `${at("00:02")} postfix-out/smtpd[4]: 2222BBBB22: client=localhost[127.0.0.1]`,
      `${at("00:02")} postfix-out/cleanup[5]: 2222BBBB22: message-id=<m2@example.com>`,
      `${at("00:02")} postfix-out/qmgr[6]: 2222BBBB22: from=<sales@example.com>, size=1400, nrcpt=1 (queue active)`,
      `${at("00:02")} postfix-in/smtp[7]: 1111AAAA11: to=<bob@example.org>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 2222BBBB22)`,
      `${at("00:02")} postfix-in/qmgr[3]: 1111AAAA11: removed`,
      `${at("00:03")} postfix-out/smtp[8]: 2222BBBB22: to=<bob@example.org>, relay=mx.example.org[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok)`,
    ];
    const { events } = run(lines, { format: "postfix" });
    expect(summary(events)).toEqual(["injection bob@example.org", "delivery bob@example.org #1"]);
    expect(events[1]).toMatchObject({
      queue_id: "1111AAAA11",
      client_ip: "192.0.2.50",
      size: 1000,
      relay: "mx.example.org[203.0.113.5]:25",
    });
  });

  test("a hand-off whose new queue never shows up gives no delivery event (documented limit)", () => {
    const { events } = run(
      [
        LIFECYCLE[3] ?? "",
        `${at("00:05")} postfix/lmtp[9]: 4BCD21C03F2: to=<a@example.org>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 5555CCCC55)`,
      ],
      { format: "postfix" },
    );
    expect(summary(events)).toEqual(["injection a@example.org"]);
  });
});

/** Feeds lines[0..k), restarts from a JSON round trip of the snapshot, feeds the rest. */
function resumedAt(lines: string[], k: number, format: "postfix" | "exim" | "auto"): Event[] {
  const first = createLogParser({ format, now: () => NOW, host: "mx" });
  const events = lines.slice(0, k).flatMap((l) => first.feed(l));
  const state = JSON.parse(JSON.stringify(first.snapshot()));
  const second = createLogParser({ format, now: () => NOW, host: "mx", state });
  return [...events, ...lines.slice(k).flatMap((l) => second.feed(l))];
}

describe("snapshot / restore", () => {
  const scenarios: [string, string[], "postfix" | "exim" | "auto"][] = [
    ["Postfix lifecycle", LIFECYCLE, "postfix"],
    ["content filter", corpusLines("mailroute-article-flow.log"), "postfix"],
    ["postfix_exporter", corpusLines("postfix-exporter.log"), "postfix"],
    [
      "Exim retries and expiry",
      corpusSections("exim-test-old-ids.log").find((s) => s.some((l) => l.includes("retry timeout exceeded"))) ?? [],
      "exim",
    ],
    ["Exim 4110", corpusSections("exim-test.log")[1] ?? [], "exim"],
  ];
  for (const [name, lines, format] of scenarios) {
    test(`${name}: a restart at any line gives the same events as an uninterrupted run`, () => {
      expect(lines.length).toBeGreaterThan(5);
      const straight = run(lines, { format, host: "mx" }).events;
      expect(straight.length).toBeGreaterThan(1);
      for (let k = 0; k <= lines.length; k++) expect(resumedAt(lines, k, format)).toEqual(straight);
    });
  }

  test("a damaged or foreign snapshot starts empty instead of failing", () => {
    for (const state of [
      { version: 1, messages: [["k", { nope: 1 }]], handoffs: [], latest: 0 },
      { version: 1, messages: 5 },
      { version: 1, messages: [[1]] },
    ]) {
      const p = createLogParser({ format: "postfix", now: () => NOW, state: state as never });
      expect(p.snapshot().messages).toEqual([]);
      expect(p.feed(LIFECYCLE[13] ?? "").length).toBe(1);
    }
  });

  test("the snapshot is plain JSON", () => {
    const p = createLogParser({ format: "postfix", now: () => NOW });
    for (const l of LIFECYCLE.slice(0, 6)) p.feed(l);
    const snap = p.snapshot();
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
    expect(snap.version).toBe(1);
    expect(snap.messages.length).toBe(1);
  });
});

describe("bounded state", () => {
  const message = (i: number) => {
    const qid = (0x10000000 + i).toString(16).toUpperCase();
    return `${at("00:01")} postfix/qmgr[1]: ${qid}: from=<a@example.com>, size=1, nrcpt=1 (queue active)`;
  };

  test("never more than maxMessages remembered; the least recently seen go first", () => {
    const p = createLogParser({ format: "postfix", now: () => NOW, maxMessages: 100 });
    for (let i = 0; i < 1000; i++) p.feed(message(i));
    const keys = p.snapshot().messages.map(([k]) => k);
    expect(keys.length).toBe(100);
    expect(keys[0]).toContain((0x10000000 + 900).toString(16).toUpperCase());
  });

  test("removed forgets at once; flush forgets what has been idle too long (log time)", () => {
    const p = createLogParser({ format: "postfix", now: () => NOW });
    for (const l of LIFECYCLE) p.feed(l);
    expect(p.snapshot().messages).toEqual([]);
    p.feed(LIFECYCLE[3] ?? "");
    expect(p.snapshot().messages.length).toBe(1);
    p.feed(`${at("59:00")} postfix/anvil[1]: statistics: max cache size 1 at Nov 23 13:59:00`);
    expect(p.flush(3_600_000)).toEqual([]);
    expect(p.snapshot().messages.length).toBe(1);
    p.flush(60_000);
    expect(p.snapshot().messages).toEqual([]);
  });
});

describe("event ids", () => {
  test("deterministic: the same lines give the same ids; distinct events, distinct ids", () => {
    const a = run(LIFECYCLE, { format: "postfix" }).events;
    const b = run(LIFECYCLE, { format: "postfix" }).events;
    expect(b.map((e) => e.event_id)).toEqual(a.map((e) => e.event_id));
    expect(new Set(a.map((e) => e.event_id)).size).toBe(a.length);
    for (const e of a) expect(e.event_id).toMatch(/^[0-9a-hjkmnp-tv-z]{26}$/);
  });
});

describe("snapshots from before notices were events", () => {
  test("a message marked notice: 1 resumes as a bounce notice", () => {
    const lines = LIFECYCLE.slice(0, 10);
    const p = createLogParser({ format: "postfix", now: () => NOW });
    for (const l of lines) p.feed(l);
    const snap = p.snapshot() as unknown as { messages: [string, Record<string, unknown>][] };
    const notice = snap.messages.find(([k]) => k.endsWith("|9F00A1C0400"));
    expect(notice).toBeDefined();
    notice![1].notice = 1; // what earlier builds stored
    const { events } = run(LIFECYCLE.slice(10, 12), { format: "postfix", state: snap as never });
    expect(events.map((e) => `${e.type} ${e.rcpt_to} ${JSON.stringify((e as { notice?: unknown }).notice)}`)).toEqual([
      'injection news@example.com {"kind":"bounce"}',
      'delivery news@example.com {"kind":"bounce"}',
    ]);
  });
});

describe("bounce notices whose notification never shows up", () => {
  const bounceOnly = LIFECYCLE.filter((l) => !l.includes("9F00A1C0400") || l.includes("non-delivery notification"));
  const filler = (minute: number, n: number) =>
    Array.from(
      { length: n },
      (_, i) =>
        `Nov 23 13:${String(minute).padStart(2, "0")}:${String(i % 60).padStart(2, "0")} mx1 postfix/smtpd[10]: connect from client${i}.example[192.0.2.10]`,
    );
  const queued = (p: ReturnType<typeof createLogParser>) =>
    (p.snapshot() as { messages: [string, { qid: string }][] }).messages.map(([, m]) => m.qid);

  test("are forgotten after ten minutes of log time, not held for the state's whole TTL", () => {
    const p = createLogParser({ format: "postfix", now: () => NOW });
    for (const l of bounceOnly.slice(0, 9)) p.feed(l);
    expect(queued(p)).toContain("9F00A1C0400");
    for (const l of filler(9, 5000)) p.feed(l); // nine minutes on: still waited for
    expect(queued(p)).toContain("9F00A1C0400");
    for (const l of filler(15, 5000)) p.feed(l); // past ten minutes, and a sweep has run
    expect(queued(p)).not.toContain("9F00A1C0400");
    expect(queued(p)).toContain("4BCD21C03F2"); // the original, deferred, is still held
  });

  test("one that does show up in time is still a notice", () => {
    const late = [...LIFECYCLE.slice(0, 8), LIFECYCLE[8]!, ...filler(6, 5000), ...LIFECYCLE.slice(9)];
    const { events } = run(
      late.filter((l) => !l.includes("cleanup[11]: 9F00A1C0400")),
      { format: "postfix" },
    );
    const notice = events.filter((e) => e.queue_id === "9F00A1C0400");
    expect(notice.map((e) => e.type)).toEqual(["injection", "delivery"]);
    for (const e of notice) expect(e).toMatchObject({ notice: { kind: "bounce", of_queue_id: "4BCD21C03F2" } });
  });
});
