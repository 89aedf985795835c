// Postfix lines from the corpus become the right events; lines that are not events are ignored.
import { describe, expect, test } from "bun:test";
import { isQueueId, parsePostfix } from "../../src/ingest/parse/index.ts";
import { FAKE_QID, findLines, logwatchLines, whyscreamLines } from "./helpers/corpus.ts";
import { only, run } from "./helpers/parse.ts";

const line = (file: string, ...needles: string[]) => {
  const found = findLines(file, ...needles);
  expect(found.length).toBeGreaterThan(0);
  return found[0] as string;
};
const wrapped = (lines: { source: string; line: string }[], ...needles: string[]) => {
  const found = lines.find((l) => needles.every((n) => l.source.includes(n)));
  if (!found) throw new Error(`no corpus line with ${needles.join(", ")}`);
  return found.line;
};

describe("delivery status lines", () => {
  test("deferred then bounced then the NDR, one queue id (postfix_exporter)", () => {
    const lines = findLines("postfix-exporter.log", "732BB407C3");
    const { events } = run(lines);
    const delay = only(events, "delay");
    expect(delay).toMatchObject({
      queue_id: "732BB407C3",
      rcpt_to: "redacted@domain.com",
      dsn: "4.0.0",
      relay: "mail.domain.com[1.1.1.1]:25",
      delay_s: 6.2,
      attempt: 1,
      bounce_class: "spam",
      host: "mail",
    });
    const bounce = only(events, "bounce");
    expect(bounce).toMatchObject({
      rcpt_to: "redacted@domain.com",
      dsn: "5.0.0",
      relay: "mail.domain.com[1.1.1.1]:25",
      attempt: 2,
      bounce_class: "spam",
    });
    // The reply keeps its commas and the parenthesised "(in reply to ...)".
    expect(bounce.type === "bounce" && bounce.response).toBe(
      "host mail.domain.com[1.1.1.1] said: 554 DT:SPM 163 mx9,O8CowEDJVFKCokVaRhz+AA--.26016S3 1514513028,please see http://mail.domain.com/help/help_spam.htm?ip= (in reply to end of DATA command)",
    );
    expect(bounce.timestamp).toBe(new Date(2025, 11, 29, 3, 3, 48).toISOString());
  });

  test("sent via smtp, with the instance name kept apart", () => {
    const { events } = run(findLines("postfix-exporter.log", "5270320179"));
    expect(events.map((e) => e.type)).toEqual(["delivery", "delivery"]);
    expect(events[0]).toMatchObject({ rcpt_to: "hebj@telia.com", dsn: "2.0.0", relay: "mail.telia.com[81.236.60.210]:25", delay_s: 2017 });
    // Same text from instance "postfix-new-instance": another queue, another event id.
    expect(events[0]?.event_id).not.toBe(events[1]?.event_id);
  });

  test("virtual, local with orig_to, IPv6 relay, bare-local-part orig_to left off", () => {
    expect(only(run([line("postfix-exporter.log", "postfix/virtual")]).events, "delivery")).toMatchObject({
      rcpt_to: "me@domain.fr",
      relay: "virtual",
      response: "delivered to maildir",
    });
    expect(only(run([line("issues-quoted.log", "eugeni/eugeni")]).events, "bounce")).toMatchObject({
      orig_rcpt: "REDACTED@torproject.org",
      relay: "gmail-smtp-in.l.google.com[2a00:1450:400c:c00::1a]:25",
      dsn: "5.7.1",
      bounce_class: "spam",
    });
    const local = only(run([line("issues-quoted.log", "postfix/local")]).events, "bounce");
    expect(local).toMatchObject({
      rcpt_to: "dsi@toto.fr",
      dsn: "5.1.1",
      relay: "local",
      bounce_class: "unknown_user",
      response: 'unknown user: "dsi"',
    });
    expect(local).not.toHaveProperty("orig_rcpt"); // orig_to=<root> is not an address
    expect(only(run([line("postfix-exporter.log", "relay=::1[::1]:24")]).events, "delay")).toMatchObject({
      relay: "::1[::1]:24",
      dsn: "4.0.0",
    });
  });

  test("every delivery agent of the grok corpus", () => {
    const all = whyscreamLines();
    const cases: [string, string, Record<string, unknown>][] = [
      ["pipe_0002", "delivery", { rcpt_to: "tom@example.com", orig_rcpt: "admin@example.com", relay: "dovecot" }],
      ["pipe_0003", "bounce", { dsn: "5.4.6", response: "mail forwarding loop for tom@example.com" }],
      [
        "local_0001",
        "delivery",
        { rcpt_to: "user@hostname.example.com", orig_rcpt: "root@localhost", response: 'delivered to command: procmail -a "$EXTENSION"' },
      ],
      ["error_0001", "delay", { rcpt_to: "user@yahoo.com", dsn: "4.4.2", bounce_class: "network" }],
      ["discard_0001", "delivery", { rcpt_to: "george.desantis@test.example.com", response: "test.example.com" }],
      ["smtp_0018", "bounce", { dsn: "5.7.1", bounce_class: "spam" }],
      ["smtp_0026", "delay", { dsn: "4.2.0", bounce_class: "policy" }],
      ["tls_features_0005", "delivery", { dsn: "2.1.5", relay: "mail.example.com[1.2.3.4]:25" }],
      ["smtp_0017", "delivery", { relay: "sub1.example.com[private/dovecot-lmtp]" }],
    ];
    for (const [yaml, type, fields] of cases) {
      const { events } = run([wrapped(all, yaml)]);
      expect(
        events.map((e) => e.type),
        yaml,
      ).toEqual([type as never]);
      expect(events[0], yaml).toMatchObject(fields);
    }
  });

  test("logwatch samples: SOFTBOUNCE is a delay, conn_use without a comma, reply without parentheses", () => {
    const all = logwatchLines();
    expect(only(run([wrapped(all, "status=SOFTBOUNCE (unknown user")]).events, "delay")).toMatchObject({
      rcpt_to: "anyone@example.com",
      dsn: "4.1.1",
      relay: "local",
      delay_s: 0.21,
    });
    expect(only(run([wrapped(all, "3295\t")]).events, "delivery")).toMatchObject({
      queue_id: "552B6C20E",
      relay: "mail.example.net[10.0.0.1]:25",
      delay_s: 1021,
    });
    expect(only(run([wrapped(all, "4084\t")]).events, "bounce")).toMatchObject({
      queue_id: FAKE_QID,
      dsn: "5.7.1",
      response: "optional text...",
    });
  });

  test("address verification probes are not mail", () => {
    for (const needle of ["status=deliverable", "status=undeliverable (", "undeliverable-but-not-cached (unknown"]) {
      const { events, parser } = run([wrapped(logwatchLines(), needle)]);
      expect(events).toEqual([]);
      expect(parser.stats.ignored).toBe(1);
    }
  });
});

describe("NOQUEUE rejections", () => {
  test("RCPT reject: client, from, to, code (fail2ban)", () => {
    const e = only(run([line("fail2ban-postfix.log", "Relay access denied")]).events, "policy_rejection");
    expect(e).toMatchObject({
      client_ip: "1.2.3.4",
      mail_from: "john@example.com",
      rcpt_to: "smtp@example.org",
      dsn: "5.7.1",
      bounce_class: "policy",
      host: "saturn",
    });
    expect(e).not.toHaveProperty("queue_id");
    expect(e.type === "policy_rejection" && e.response).toBe("554 5.7.1 <smtp@example.com>: Relay access denied");
  });

  test("RBL reject with ';' inside the reply, empty sender", () => {
    const rbl = only(run([line("fail2ban-postfix.log", "rbl.example.com", "postfix/smtpd")]).events, "policy_rejection");
    expect(rbl).toMatchObject({ client_ip: "93.184.216.34", dsn: "4.7.1", bounce_class: "block", rcpt_to: "goodguy@example.com" });
    expect(rbl.type === "policy_rejection" && rbl.response).toContain(
      "blocked using rbl.example.com; http://www.example.com/query?ip=93.184.216.34",
    );
    expect(only(run([line("fail2ban-postfix.log", "from=<> to=<>")]).events, "policy_rejection")).toMatchObject({
      mail_from: "",
      client_ip: "192.0.43.10",
      dsn: "4.7.1",
    });
  });

  test("postscreen's comma-separated fields, milter-reject, proxy-reject", () => {
    const all = whyscreamLines();
    expect(only(run([wrapped(all, "postscreen_0027")]).events, "policy_rejection")).toMatchObject({
      client_ip: "182.98.255.184",
      mail_from: "lvtowxfdp@yahoo.com",
      rcpt_to: "tom@example.com",
      dsn: "5.5.1",
    });
    expect(only(run([wrapped(all, "smtpd_0038")]).events, "policy_rejection")).toMatchObject({
      client_ip: "8.8.8.8",
      dsn: "4.7.1",
      bounce_class: "policy",
    });
    expect(only(run([wrapped(all, "smtpd_0022")]).events, "policy_rejection")).toMatchObject({
      mail_from: "",
      rcpt_to: "user2@example2.com",
      dsn: "5.7.0",
    });
    expect(only(run([wrapped(all, "cleanup_0004")]).events, "policy_rejection")).toMatchObject({
      queue_id: "4104E3D",
      client_ip: "61.238.241.86",
      dsn: "5.7.1",
      bounce_class: "spam",
    });
  });

  test("not events: reject_warning, VRFY probes, discard/hold/filter/redirect, lost connection", () => {
    const all = whyscreamLines();
    for (const yaml of ["smtpd_0031", "smtpd_0017", "smtpd_0018", "smtpd_0026", "smtpd_0027"]) {
      expect(run([wrapped(all, yaml)]).events, yaml).toEqual([]);
    }
    expect(run(findLines("fail2ban-postfix.log", "VRFY")).events).toEqual([]);
    for (const n of ["2921\t", "3129\t", "3132\t", "3136\t", "3138\t", "3127\t"])
      expect(run([wrapped(logwatchLines(), n)]).events, n).toEqual([]);
  });

  test("the same reject from two instances is two events", () => {
    const { events } = run(findLines("fail2ban-postfix.log", "rbl.example.com"));
    expect(events.length).toBe(2);
    expect(new Set(events.map((e) => e.event_id)).size).toBe(2);
  });
});

describe("queue ids and line shapes", () => {
  test("short hex and long queue ids; not words", () => {
    for (const id of ["0F5383D", "ED06590130AA1C9D6D862", "48rT2v1hQrz1J0N", "3pJjg82Vycz1JBJG", "4HnkK60lBRz6tl1"])
      expect(isQueueId(id), id).toBe(true);
    for (const w of ["NOQUEUE", "warning", "statistics", "Deleted", "abc", "3pJjg82Vyc"]) expect(isQueueId(w), w).toBe(false);
  });

  test("qmgr, cleanup, smtpd and bounce lines are what they say", () => {
    expect(parsePostfix("qmgr", "0F5383D: from=<owner@postfix.org>, size=5360, nrcpt=1 (queue active)")).toEqual({
      kind: "accepted",
      qid: "0F5383D",
      from: "owner@postfix.org",
      size: 5360,
      nrcpt: 1,
    });
    expect(parsePostfix("qmgr", "585BC3F: from=<>, status=expired, returned to sender")).toEqual({
      kind: "expired-all",
      qid: "585BC3F",
      from: "",
    });
    expect(parsePostfix("cleanup", "4104E3D: message-id=<>")).toEqual({ kind: "ignored" });
    expect(parsePostfix("cleanup", "0F5383D: message-id=<544D2523.30609@rhsoft.net>")).toEqual({
      kind: "message-id",
      qid: "0F5383D",
      messageId: "544D2523.30609@rhsoft.net",
    });
    expect(parsePostfix("smtpd", "EB4B2C19E2: client=xxx[1.2.3.4], sasl_method=PLAIN, sasl_username=user@domain")).toEqual({
      kind: "client",
      qid: "EB4B2C19E2",
      clientIp: "1.2.3.4",
    });
    expect(parsePostfix("bounce", "17CCA8044: sender non-delivery notification: ADD2F8052")).toEqual({
      kind: "notice",
      qid: "17CCA8044",
      noticeQid: "ADD2F8052",
      notice: "bounce",
    });
    expect(parsePostfix("qmgr", "0F5383D: removed")).toEqual({ kind: "done", qid: "0F5383D" });
  });

  test("the bounce daemon's notices, by kind: non-delivery, delay, delivery status; to the sender or the postmaster", () => {
    const notice = (words: string) => parsePostfix("bounce", `17CCA8044: ${words} notification: ADD2F8052`);
    expect(notice("sender non-delivery")).toMatchObject({ kind: "notice", notice: "bounce" });
    expect(notice("postmaster non-delivery")).toMatchObject({ kind: "notice", notice: "bounce" });
    expect(notice("sender delay")).toMatchObject({ kind: "notice", notice: "delay" });
    expect(notice("postmaster delay")).toMatchObject({ kind: "notice", notice: "delay" });
    expect(notice("sender delivery status")).toMatchObject({ kind: "notice", qid: "17CCA8044", noticeQid: "ADD2F8052", notice: "success" });
    // An unheard-of kind is not guessed at: it shows up as not understood.
    expect(notice("sender mystery")).toEqual({ kind: "unknown" });
    expect(parsePostfix("bounce", "17CCA8044: sender non-delivery notification: not-a-qid")).toEqual({ kind: "unknown" });
  });

  test("a broken status line is not understood, never an exception", () => {
    expect(parsePostfix("smtp", "0F5383D: to=<a@b.c, status=sent")).toEqual({ kind: "unknown" });
    expect(parsePostfix("smtp", "0F5383D: to=<a@b.c>, status=wibbled (x)")).toEqual({ kind: "unknown" });
    expect(parsePostfix("smtp", "to=<a@b.c>, relay=x, status=sent (ok)")).toEqual({ kind: "unknown" });
  });
});
