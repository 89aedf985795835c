// A Postfix notice whose own lines come before the bounce daemon's line that names it (qmgr
// delivered it while the bounce daemon had not logged yet): its events are held until that
// line, and carry `notice`; held no longer than the grace of log time, flushed at the end of
// the input, never for relayed <> mail, bounded in number, and resumed from a snapshot.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import type { Event } from "../../src/events/schema.ts";
import { HOLD_GRACE_MS, isOwnMessageId, MAX_HELD } from "../../src/ingest/notice-hold.ts";
import { createLogParser, type LogParser, type Snapshot } from "../../src/ingest/parse/index.ts";
import { runHookd, tempDir } from "../helpers/hookd.ts";
import { NOW } from "./helpers/corpus.ts";
import { expectValid } from "./helpers/parse.ts";

// A 550 and the non-delivery notice Postfix sent back, from a real run (test/fixtures/postfix-e2e.log).
const at = (s = "54") => `Dec 06 09:06:${s} mx`;
const HARD = [
  `${at()} postfix/pickup[32117]: A1DAD288224: uid=0 from=<sender@sink.test>`,
  `${at()} postfix/cleanup[32145]: A1DAD288224: message-id=<hookd-e2e-hard-bounce.mxbmavy4.2.51krls@hookd.test>`,
  `${at()} postfix/qmgr[32118]: A1DAD288224: from=<sender@sink.test>, size=413, nrcpt=1 (queue active)`,
  `${at()} postfix/smtp[32147]: A1DAD288224: to=<hard@sink.test>, relay=127.0.0.1[127.0.0.1]:39435, delay=0.01, delays=0/0/0/0.01, dsn=5.1.1, status=bounced (host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <hard@sink.test>: user unknown (in reply to RCPT TO command))`,
];
const [NOTICE_MID, NOTICE_QMGR, NOTICE_SENT, NOTICE_REMOVED] = [
  `${at()} postfix/cleanup[32145]: A5B3F288226: message-id=<20261206090654.A5B3F288226@mx.hookd.test>`,
  `${at()} postfix/qmgr[32118]: A5B3F288226: from=<>, size=2361, nrcpt=1 (queue active)`,
  `${at()} postfix/smtp[32147]: A5B3F288226: to=<sender@sink.test>, relay=127.0.0.1[127.0.0.1]:39435, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as SINK2)`,
  `${at()} postfix/qmgr[32118]: A5B3F288226: removed`,
] as const;
const LINK = `${at()} postfix/bounce[32150]: A1DAD288224: sender non-delivery notification: A5B3F288226`;
const ORIG_REMOVED = `${at()} postfix/qmgr[32118]: A1DAD288224: removed`;

/** The order the fixture logged: the bounce daemon's line before the notice's delivery. */
const LOGGED = [...HARD, NOTICE_MID, NOTICE_QMGR, LINK, ORIG_REMOVED, NOTICE_SENT, NOTICE_REMOVED];
/** The order of the failing CI run: the notice delivered and removed before the line naming it. */
const RACED = [...HARD, NOTICE_MID, NOTICE_QMGR, NOTICE_SENT, NOTICE_REMOVED, LINK, ORIG_REMOVED];
const UNNAMED = RACED.filter((l) => l !== LINK);
/** Up to the line naming the notice. */
const HELD = RACED.slice(0, RACED.indexOf(LINK));

const NOTICE = { kind: "bounce", of_queue_id: "A1DAD288224", of_message_id: "hookd-e2e-hard-bounce.mxbmavy4.2.51krls@hookd.test" };
const quiet = (s: string) => `${at(s)} postfix/smtpd[32200]: connect from localhost[127.0.0.1]`;

const parser = (state?: Snapshot) => createLogParser({ format: "postfix", now: () => NOW, ...(state ? { state } : {}) });
/** Every event of lines, flushed at the end as `hookd parse` does. */
function parseAll(lines: readonly string[], p: LogParser = parser()): Event[] {
  const events = [...lines.flatMap((l) => p.feed(l)), ...p.flush()];
  for (const e of events) expectValid(e);
  return events;
}
const ofNotice = (events: Event[]) => events.filter((e) => e.queue_id === "A5B3F288226");
const summary = (events: Event[]) =>
  events.map((e) => `${e.type} ${e.queue_id} ${e.rcpt_to} ${JSON.stringify((e as { notice?: unknown }).notice ?? null)}`);

describe("a notice delivered before the line that names it", () => {
  test("its events wait for that line and carry notice: the same events, ids and order as when logged the other way round", () => {
    const p = parser();
    const before = HELD.flatMap((l) => p.feed(l));
    expect(ofNotice(before)).toEqual([]);
    expect(p.held).toBe(1);
    const onLink = p.feed(LINK);
    expect(summary(onLink)).toEqual([
      `injection A5B3F288226 sender@sink.test ${JSON.stringify(NOTICE)}`,
      `delivery A5B3F288226 sender@sink.test ${JSON.stringify(NOTICE)}`,
    ]);
    p.feed(ORIG_REMOVED);
    expect(p.held).toBe(0);
    // Nothing is left waiting for the notice's lines: they all came already.
    expect(p.snapshot().messages).toEqual([]);
    expect(p.snapshot().holds).toBeUndefined();

    const raced = parseAll(RACED);
    expect(raced).toEqual(parseAll(LOGGED));
    expect(raced.map((e) => e.type)).toEqual(["injection", "bounce", "injection", "delivery"]);
    for (const e of ofNotice(raced)) expect(e).toMatchObject({ mail_from: "", message_id: "20261206090654.A5B3F288226@mx.hookd.test" });
    // The stats count what went out, once.
    const q = parser();
    parseAll(RACED, q);
    expect(q.stats.events).toEqual({ injection: 2, bounce: 1, delivery: 1 });
  });

  test("a notice passed through a content filter on the way is held as one story and named as one", () => {
    const lines = [
      ...HARD,
      NOTICE_MID,
      NOTICE_QMGR,
      `${at()} postfix/lmtp[32160]: A5B3F288226: to=<sender@sink.test>, relay=127.0.0.1[127.0.0.1]:10024, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as B0C1D288227)`,
      `${at()} postfix/smtpd[32161]: B0C1D288227: client=localhost[127.0.0.1], orig_queue_id=A5B3F288226, orig_client=localhost[127.0.0.1]`,
      `${at()} postfix/cleanup[32145]: B0C1D288227: message-id=<20261206090654.A5B3F288226@mx.hookd.test>`,
      `${at()} postfix/qmgr[32118]: B0C1D288227: from=<>, size=2500, nrcpt=1 (queue active)`,
      NOTICE_REMOVED,
      `${at()} postfix/smtp[32147]: B0C1D288227: to=<sender@sink.test>, relay=127.0.0.1[127.0.0.1]:39435, delay=0.02, delays=0/0/0/0.02, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as SINK3)`,
      `${at()} postfix/qmgr[32118]: B0C1D288227: removed`,
      LINK,
      ORIG_REMOVED,
    ];
    expect(summary(ofNotice(parseAll(lines)))).toEqual([
      `injection A5B3F288226 sender@sink.test ${JSON.stringify(NOTICE)}`,
      `delivery A5B3F288226 sender@sink.test ${JSON.stringify(NOTICE)}`,
    ]);
  });

  test("and through a content filter in another Postfix instance: held under each instance, named by the one line", () => {
    const inside = (l: string) => l.replace(" postfix/", " postfix-in/");
    const lines = [
      ...HARD.map(inside),
      inside(NOTICE_MID),
      inside(NOTICE_QMGR),
      `${at()} postfix-out/smtpd[32161]: B0C1D288227: client=localhost[127.0.0.1]`,
      `${at()} postfix-out/cleanup[32162]: B0C1D288227: message-id=<20261206090654.A5B3F288226@mx.hookd.test>`,
      `${at()} postfix-out/qmgr[32163]: B0C1D288227: from=<>, size=2500, nrcpt=1 (queue active)`,
      `${at()} postfix-in/smtp[32160]: A5B3F288226: to=<sender@sink.test>, relay=127.0.0.1[127.0.0.1]:10024, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as B0C1D288227)`,
      inside(NOTICE_REMOVED),
      `${at()} postfix-out/smtp[32164]: B0C1D288227: to=<sender@sink.test>, relay=127.0.0.1[127.0.0.1]:39435, delay=0.02, delays=0/0/0/0.02, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as SINK3)`,
      `${at()} postfix-out/qmgr[32163]: B0C1D288227: removed`,
      inside(LINK),
      inside(ORIG_REMOVED),
    ];
    const p = parser();
    const before = lines.slice(0, -2).flatMap((l) => p.feed(l));
    expect(ofNotice(before)).toEqual([]);
    expect(p.held).toBe(2);
    expect(summary(ofNotice(p.feed(lines.at(-2)!)))).toEqual([
      `injection A5B3F288226 sender@sink.test ${JSON.stringify(NOTICE)}`,
      `delivery A5B3F288226 sender@sink.test ${JSON.stringify(NOTICE)}`,
    ]);
    expect(p.held).toBe(0);
  });

  test("without that line they go out as they are once the log's clock is past the grace, and a late line adds nothing", () => {
    expect(HOLD_GRACE_MS).toBe(10_000);
    const p = parser();
    for (const l of UNNAMED) expect(ofNotice(p.feed(l))).toEqual([]);
    expect(p.feed(quiet("59"))).toEqual([]);
    // 09:06:54 + 10 s is still within the grace; a line at 09:07:05 is past it.
    expect(p.feed(`Dec 06 09:07:04 mx postfix/smtpd[32200]: connect from localhost[127.0.0.1]`)).toEqual([]);
    const out = p.feed(`Dec 06 09:07:05 mx postfix/smtpd[32200]: connect from localhost[127.0.0.1]`);
    expect(summary(out)).toEqual(["injection A5B3F288226 sender@sink.test null", "delivery A5B3F288226 sender@sink.test null"]);
    expect(out.map((e) => e.event_id)).toEqual(ofNotice(parseAll(RACED)).map((e) => e.event_id));
    expect(p.held).toBe(0);
    expect(p.feed(`Dec 06 09:07:06 mx postfix/bounce[32150]: A1DAD288224: sender non-delivery notification: A5B3F288226`)).toEqual([]);
    expect(p.flush()).toEqual([]);
  });

  test("a line about another message past the grace sends them out before its own events", () => {
    const p = parser();
    for (const l of UNNAMED) p.feed(l);
    const out = p.feed(
      `Dec 06 09:07:30 mx postfix/smtp[32147]: DB490288225: to=<soft@sink.test>, relay=127.0.0.1[127.0.0.1]:39435, delay=0.01, delays=0/0/0/0.01, dsn=4.2.0, status=deferred (451 4.2.0 try later)`,
    );
    expect(out.map((e) => `${e.type} ${e.queue_id}`)).toEqual(["injection A5B3F288226", "delivery A5B3F288226", "delay DB490288225"]);
  });

  test("the end of the input flushes them without notice, with the ids they have with it", () => {
    const p = parser();
    const fed = UNNAMED.flatMap((l) => p.feed(l));
    expect(ofNotice(fed)).toEqual([]);
    const flushed = p.flush();
    expect(summary(flushed)).toEqual(["injection A5B3F288226 sender@sink.test null", "delivery A5B3F288226 sender@sink.test null"]);
    expect(flushed.map((e) => e.event_id)).toEqual(ofNotice(parseAll(RACED)).map((e) => e.event_id));
    expect(p.stats.events).toEqual({ injection: 2, bounce: 1, delivery: 1 });
    expect(p.flush()).toEqual([]);
  });

  test("hookd parse prints them at the end of its input", async () => {
    const dir = tempDir();
    try {
      const log = path.join(dir, "mail.log");
      fs.writeFileSync(log, UNNAMED.join("\n") + "\n");
      const r = await runHookd(["parse", "--format", "postfix", log]);
      expect(r.code).toBe(0);
      const events = r.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Event);
      expect(events.map((e) => `${e.type} ${e.queue_id}`)).toEqual([
        "injection A1DAD288224",
        "bounce A1DAD288224",
        "injection A5B3F288226",
        "delivery A5B3F288226",
      ]);
      expect(r.stderr).toStartWith("9 lines read from 1 file; 4 events");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  test("hookd backfill stores them at the end of its last file", async () => {
    const dir = tempDir();
    try {
      const log = path.join(dir, "mail.log");
      fs.writeFileSync(log, UNNAMED.join("\n") + "\n");
      const store = path.join(dir, "hookd.db");
      const r = await runHookd(["backfill", "--format", "postfix", log], { cwd: dir, env: { HOOKD_STORAGE_PATH: store } });
      expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0, stderr: expect.stringContaining("4 events stored") });
      const db = new Database(store, { readonly: true });
      const rows = db.query("SELECT type, queue_id FROM events ORDER BY seq").all() as { type: string; queue_id: string }[];
      db.close();
      expect(rows.map((e) => `${e.type} ${e.queue_id}`)).toEqual([
        "injection A1DAD288224",
        "bounce A1DAD288224",
        "injection A5B3F288226",
        "delivery A5B3F288226",
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("what is never held", () => {
  const relayed = (mid: string, from = "") => [
    `${at()} postfix/smtpd[32200]: 8D1B2C3D4E: client=other.example[198.51.100.9]`,
    `${at()} postfix/cleanup[32145]: 8D1B2C3D4E: message-id=<${mid}>`,
    `${at()} postfix/qmgr[32118]: 8D1B2C3D4E: from=<${from}>, size=1500, nrcpt=1 (queue active)`,
    `${at()} postfix/smtp[32147]: 8D1B2C3D4E: to=<reader@example.org>, relay=mx.example.org[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)`,
  ];

  test("relayed <> mail whose Message-ID is not the one Postfix makes from its own queue id", () => {
    for (const mid of [
      "receipt@other.example",
      // Another Postfix's notice relayed through this MX: its queue id is not ours.
      "20261206090650.7F3A2C1B0A@other.example",
      "8D1B2C3D4E.extra@other.example",
    ]) {
      const p = parser();
      const lines = relayed(mid);
      for (const l of lines.slice(0, -1)) expect(p.feed(l)).toEqual([]);
      const out = p.feed(lines.at(-1)!);
      expect(out.map((e) => `${e.type} ${e.mail_from === "" ? "<>" : e.mail_from} ${e.message_id}`)).toEqual([
        `injection <> ${mid}`,
        `delivery <> ${mid}`,
      ]);
      expect(out.some((e) => "notice" in e)).toBe(false);
      expect(p.held).toBe(0);
    }
  });

  test("mail with a sender, even with a Message-ID cleanup made (sendmail without one)", () => {
    const p = parser();
    const lines = relayed("20261206090654.8D1B2C3D4E@mx.hookd.test", "cron@mx.hookd.test");
    const out = lines.flatMap((l) => p.feed(l));
    expect(out.map((e) => e.type)).toEqual(["injection", "delivery"]);
    expect(p.held).toBe(0);
  });

  test("Exim's notices (named on their own arrival line) and Exim's other <> mail", () => {
    const t = "2026-11-23 13:07:0";
    const lines = [
      `${t}1 1tAAAA-000000005vi-0000 <= a@example.com U=app P=local S=900 id=orig-1@example.com for x@example.org`,
      `${t}2 1tAAAA-000000005vi-0000 ** x@example.org R=dnslookup T=remote_smtp H=mx.example.org [203.0.113.5]: SMTP error from remote mail server after RCPT TO:<x@example.org>: 550 5.1.1 unknown`,
      `${t}2 1tBBBB-000000005vi-0000 <= <> R=1tAAAA-000000005vi-0000 U=Debian-exim P=local S=1900 id=E1tBBBB-000000005vi-0000@mx.example.com for a@example.com`,
      `${t}3 1tBBBB-000000005vi-0000 => a@example.com R=dnslookup T=remote_smtp H=mx.example.com [192.0.2.1] C="250 OK"`,
      `${t}4 1tDDDD-000000005vi-0000 <= <> H=other.example [198.51.100.9] P=esmtp S=1500 id=1tDDDD-000000005vi-0000@mx.example.com`,
      `${t}5 1tDDDD-000000005vi-0000 => reader@example.org R=dnslookup T=remote_smtp H=mx.example.org [203.0.113.5] C="250 OK"`,
    ];
    const p = createLogParser({ format: "exim", now: () => NOW });
    const perLine = lines.map((l) => {
      const out = p.feed(l);
      expect(p.held).toBe(0);
      return out.map((e) => `${e.type} ${e.queue_id} ${(e as { notice?: { kind: string } }).notice?.kind ?? "-"}`);
    });
    expect(perLine).toEqual([
      ["injection 1tAAAA-000000005vi-0000 -"],
      ["bounce 1tAAAA-000000005vi-0000 -"],
      ["injection 1tBBBB-000000005vi-0000 bounce"],
      ["delivery 1tBBBB-000000005vi-0000 bounce"],
      [],
      ["injection 1tDDDD-000000005vi-0000 -", "delivery 1tDDDD-000000005vi-0000 -"],
    ]);
  });

  test("the Message-ID shapes: Postfix's own (short and long queue ids), and what only looks like them", () => {
    expect(isOwnMessageId("20261206090654.A5B3F288226@mx.hookd.test", "A5B3F288226")).toBe(true);
    expect(isOwnMessageId("4HnkK60lBRz6tl1@mx.example.com", "4HnkK60lBRz6tl1")).toBe(true);
    for (const [mid, qid] of [
      ["20261206090654.A5B3F288226@mx.hookd.test", "A5B3F288227"],
      ["20261206090654.A5B3F288226@", "A5B3F288226"],
      ["2026120609065.A5B3F288226@mx", "A5B3F288226"],
      ["2026120609065x.A5B3F288226@mx", "A5B3F288226"],
      ["20261206090654.A5B3F2882260@mx", "A5B3F288226"],
      ["x.A5B3F288226@mx", "A5B3F288226"],
      ["1tDDDD-000000005vi-0000@mx.example.com", "1tDDDD-000000005vi-0000"],
      [undefined, "A5B3F288226"],
    ] as const)
      expect({ mid, own: isOwnMessageId(mid, qid) }).toEqual({ mid, own: false });
  });
});

describe("held messages are bounded", () => {
  test(`past ${MAX_HELD}, the oldest goes out without notice`, () => {
    const qid = (i: number) => (0xa0000000 + i).toString(16).toUpperCase();
    const notice = (i: number) => [
      `${at()} postfix/cleanup[32145]: ${qid(i)}: message-id=<20261206090654.${qid(i)}@mx.hookd.test>`,
      `${at()} postfix/qmgr[32118]: ${qid(i)}: from=<>, size=2361, nrcpt=1 (queue active)`,
      `${at()} postfix/smtp[32147]: ${qid(i)}: to=<s${i}@sink.test>, relay=127.0.0.1[127.0.0.1]:39435, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (250 ok)`,
    ];
    const p = parser();
    for (let i = 0; i < MAX_HELD; i++) for (const l of notice(i)) expect(p.feed(l)).toEqual([]);
    expect(p.held).toBe(MAX_HELD);
    const out = notice(MAX_HELD).flatMap((l) => p.feed(l));
    expect(out.map((e) => `${e.type} ${e.queue_id}`)).toEqual([`injection ${qid(0)}`, `delivery ${qid(0)}`]);
    expect(p.held).toBe(MAX_HELD);
    // The others still get their notice.
    const named = p.feed(`${at()} postfix/bounce[32150]: A1DAD288224: sender non-delivery notification: ${qid(1)}`);
    expect(named.map((e) => `${e.type} ${e.queue_id} ${(e as { notice?: { kind: string } }).notice?.kind}`)).toEqual([
      `injection ${qid(1)} bounce`,
      `delivery ${qid(1)} bounce`,
    ]);
  });
});

describe("held events across a restart", () => {
  /** Feeds lines[0..k), restarts from a JSON round trip of the snapshot, feeds the rest, flushes at the end. */
  function resumedAt(lines: readonly string[], k: number): Event[] {
    const first = parser();
    const events = lines.slice(0, k).flatMap((l) => first.feed(l));
    const state = JSON.parse(JSON.stringify(first.snapshot())) as Snapshot;
    return [...events, ...parseAll(lines.slice(k), parser(state))];
  }

  const past = [quiet("59"), `Dec 06 09:07:05 mx postfix/smtpd[32200]: connect from localhost[127.0.0.1]`, LINK, ORIG_REMOVED];
  const cases: [string, string[]][] = [
    ["named late", RACED],
    ["never named, the grace runs out", [...UNNAMED.filter((l) => l !== ORIG_REMOVED), ...past]],
    ["never named, the input ends", UNNAMED],
  ];
  for (const [name, lines] of cases) {
    test(`${name}: a restart at any line gives the same events as an uninterrupted run, none twice`, () => {
      const straight = parseAll(lines);
      expect(ofNotice(straight).length).toBe(2);
      for (let k = 0; k <= lines.length; k++) expect(resumedAt(lines, k)).toEqual(straight);
    });
  }

  test("the snapshot holds them as they will go out, and a damaged entry is dropped, not fatal", () => {
    const p = parser();
    for (const l of HELD) p.feed(l);
    const snap = JSON.parse(JSON.stringify(p.snapshot())) as Snapshot;
    expect(snap.holds?.map(([k, h]) => [k, h.events.map((e) => e.type)])).toEqual([["mx|postfix|A5B3F288226", ["injection", "delivery"]]]);
    const damaged = { ...snap, holds: [["x", { since: "no", events: [] }], 5, ...(snap.holds ?? [])] } as unknown as Snapshot;
    const q = parser(damaged);
    expect(q.held).toBe(1);
    expect(summary(q.feed(LINK))).toEqual([
      `injection A5B3F288226 sender@sink.test ${JSON.stringify(NOTICE)}`,
      `delivery A5B3F288226 sender@sink.test ${JSON.stringify(NOTICE)}`,
    ]);
  });
});
