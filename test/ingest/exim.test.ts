// Exim main-log lines: both message-id formats, every delivery flag, rejections.
import { describe, expect, test } from "bun:test";
import { parseExim } from "../../src/ingest/parse/index.ts";
import { isEximId } from "../../src/ingest/parse/exim-fields.ts";
import { corpusSections, findLines } from "./helpers/corpus.ts";
import { only, run } from "./helpers/parse.ts";

const exim = (lines: string[]) => run(lines, { format: "exim", host: "mx" });
const one = (file: string, ...needles: string[]) => {
  const l = findLines(file, ...needles)[0];
  if (!l) throw new Error(`no line with ${needles.join(", ")} in ${file}`);
  return l;
};

describe("message ids", () => {
  test("old 6-6-2 and 4.97+ 6-11-4 formats", () => {
    for (const id of ["1PLKOW-00046U-EW", "10HmaX-0005vi-00", "10HmaX-000000005vi-0000", "1r6Bwm-000000002h3-2n4V"])
      expect(isEximId(id), id).toBe(true);
    for (const id of ["10HmaX-0005vi-0", "10HmaX_0005vi-00", "10HmaX-00000005vi-0000", "H=localhost"]) expect(isEximId(id), id).toBe(false);
  });

  test("the same delivery in both formats gives the same event shape", () => {
    const oldIds = only(exim([one("exim-test-old-ids.log", "10HmaZ-0005vi-00 => rmt_accept <rmt_accept@test.ex>")]).events, "delivery");
    const newIds = only(exim([one("exim-test.log", "10HmaZ-000000005vi-0000 => rmt_accept <rmt_accept@test.ex>")]).events, "delivery");
    expect(oldIds).toMatchObject({ queue_id: "10HmaZ-0005vi-00", rcpt_to: "rmt_accept@test.ex", relay: "tofile" });
    expect(newIds).toMatchObject({ queue_id: "10HmaZ-000000005vi-0000", rcpt_to: "rmt_accept@test.ex", relay: "tofile" });
    const { event_id: _a, queue_id: _b, ...restOld } = oldIds;
    const { event_id: _c, queue_id: _d, ...restNew } = newIds;
    expect(restOld).toEqual(restNew);
  });
});

describe("flags", () => {
  test("<= then => : injection per recipient when the delivery names it, then delivery", () => {
    const section = corpusSections("exim-test-old-ids.log").find((s) => s.some((l) => l.includes("-> x <x@dom3>"))) ?? [];
    const { events } = exim(section);
    expect(events.map((e) => `${e.type} ${e.rcpt_to}`)).toEqual([
      "injection x@dom1",
      "delivery x@dom1",
      "injection x@dom2",
      "delivery x@dom2",
      "injection x@dom3",
      "delivery x@dom3",
    ]);
    expect(events[0]).toMatchObject({ mail_from: "CALLER@test.ex", queue_id: "10HmaX-0005vi-00", host: "mx" });
  });

  test("<= with +received_recipients 'for a b c' injects at once", () => {
    const { events } = exim([one("exim-test.log", "for a@test.ex b@test.ex c@test.ex")]);
    expect(events.map((e) => `${e.type} ${e.rcpt_to}`)).toEqual(["injection a@test.ex", "injection b@test.ex", "injection c@test.ex"]);
    // A later delivery to one of them is not injected again.
    const id = events[0]?.queue_id ?? "";
    const more = exim([
      one("exim-test.log", "for a@test.ex b@test.ex c@test.ex"),
      `2017-07-30 18:51:05.712 ${id} => a@test.ex R=r T=t`,
    ]).events;
    expect(more.map((e) => e.type)).toEqual(["injection", "injection", "injection", "delivery"]);
  });

  test("<= fields: H= client address, S= size, id= Message-ID, X=TLS", () => {
    const line =
      "2026-11-23 13:07:09 10HmbA-000000005vi-0000 <= CALLER@myhost.test.ex H=the.local.host.name (myhost.test.ex) [192.0.2.7]:4321 U=CALLER P=esmtps X=TLS1.3:ECDHE:256 CV=no S=2048 id=E10HmaZ@myhost.test.ex for h@clientdom.net";
    expect(parseExim(line.slice(20))).toEqual({
      kind: "accepted",
      qid: "10HmbA-000000005vi-0000",
      from: "CALLER@myhost.test.ex",
      size: 2048,
      clientIp: "192.0.2.7",
      messageId: "E10HmaZ@myhost.test.ex",
      rcpts: ["h@clientdom.net"],
    });
  });

  test("-> alias expansion: rcpt_to is the delivered address, orig_rcpt the one sent to", () => {
    const e = only(exim([one("exim-test.log", "-> two@remote <list@test.ex>")]).events, "delivery");
    expect(e).toMatchObject({ rcpt_to: "two@remote", orig_rcpt: "list@test.ex", relay: "127.0.0.1 [127.0.0.1]", response: "250 OK" });
  });

  test("=> to a local part: the bracketed address is the recipient", () => {
    expect(only(exim([one("exim-test.log", "=> userx <userx@myhost.test.ex>")]).events, "delivery")).toMatchObject({
      rcpt_to: "userx@myhost.test.ex",
      relay: "appendfile",
    });
  });

  test(">> cutthrough is a delivery; *> (-N, nothing sent) is not", () => {
    expect(
      only(exim([one("exim-test.log", '>> dest@domain.com R=all T=smtp H=127.0.0.1 [127.0.0.1] C="250 OK"')]).events, "delivery"),
    ).toMatchObject({ rcpt_to: "dest@domain.com", response: "250 OK" });
    expect(exim([one("exim-test.log", "*> accept <accept@y>")]).events).toEqual([]);
  });

  test("== is a delay with the reason; 'retry time not reached' is not an attempt", () => {
    const e = only(exim([one("exim-test.log", "== rmt_defer@test.ex R=r2 T=smtp defer (-44)")]).events, "delay");
    expect(e).toMatchObject({
      rcpt_to: "rmt_defer@test.ex",
      relay: "127.0.0.1 [127.0.0.1]",
      response: "SMTP error from remote mail server after RCPT TO:<rmt_defer@test.ex>: 451 Temporary local problem - please try later",
      bounce_class: "soft",
    });
    expect(exim([one("exim-test.log", "routing defer (-52): retry time not reached")]).events).toEqual([]);
    expect(only(exim([one("exim-test.log", "mailbox is full")]).events, "delay")).toMatchObject({ bounce_class: "quota" });
  });

  test("** is a bounce; ** after 'retry timeout exceeded' is expired, with the last deferral's reason", () => {
    expect(only(exim([one("exim-test.log", "** rmt_reject@test.ex R=r2 T=smtp")]).events, "bounce")).toMatchObject({
      rcpt_to: "rmt_reject@test.ex",
      bounce_class: "policy",
    });
    expect(only(exim([one("exim-test.log", "** userx@bad.ex : Unrouteable address")]).events, "bounce")).toMatchObject({
      response: "Unrouteable address",
      bounce_class: "unknown_domain",
    });
    const section =
      corpusSections("exim-test-old-ids.log").find((s) => s.some((l) => l.includes("** b@known.ex: retry timeout exceeded"))) ?? [];
    const expired = exim(section).events.filter((e) => e.type === "expired" && e.queue_id === "10HmaX-0005vi-00");
    expect(expired.map((e) => e.rcpt_to).sort()).toEqual(["a@unknown.ex", "b@known.ex", "c@test.ex", "d@test.ex"]);
    expect(expired.find((e) => e.rcpt_to === "c@test.ex")).toMatchObject({
      bounce_class: "quota",
      response: "mailbox is full (MTA-imposed quota exceeded while writing to TESTSUITE/test-mail/c)",
    });
  });

  test("=> to this machine answered '250 OK id=NEWID' is a hand-off: the story goes on under NEWID", () => {
    // Real order: the receiving side logs "<=" before the sender logs "=>".
    const { events } = exim([
      "2026-11-23 13:07:09 1tAAAA-000000005vi-0000 <= news@example.com H=(client) [192.0.2.9] P=esmtp S=900 id=m1@example.com",
      "2026-11-23 13:07:10 1tBBBB-000000005vi-0000 <= news@example.com H=localhost [127.0.0.1] P=esmtp S=950 for alice@example.org",
      '2026-11-23 13:07:10 1tAAAA-000000005vi-0000 => alice@example.org R=scan T=to_scanner H=127.0.0.1 [127.0.0.1] C="250 OK id=1tBBBB-000000005vi-0000"',
      "2026-11-23 13:07:10 1tAAAA-000000005vi-0000 Completed",
      '2026-11-23 13:07:12 1tBBBB-000000005vi-0000 => alice@example.org R=dnslookup T=remote_smtp H=mx.example.org [198.51.100.5] C="250 2.0.0 queued"',
    ]);
    expect(events.map((e) => `${e.type} ${e.queue_id} ${e.rcpt_to}`)).toEqual([
      "injection 1tAAAA-000000005vi-0000 alice@example.org",
      "delivery 1tAAAA-000000005vi-0000 alice@example.org",
    ]);
    expect(events[0]).toMatchObject({ client_ip: "192.0.2.9", timestamp: new Date(2026, 10, 23, 13, 7, 9).toISOString() });
    expect(events[1]).toMatchObject({ client_ip: "192.0.2.9", size: 900, message_id: "m1@example.com", dsn: "2.0.0" });
  });

  test("QT= is the delay; Completed forgets the message", () => {
    const l = one("exim-test.log", "[1237] 10HmaY-000000005vi-0000 => userx <userx@test.ex> R=r1 T=t1 QT=qqs").replace("QT=qqs", "QT=1m5s");
    expect(only(exim([l]).events, "delivery")).toMatchObject({ delay_s: 65 });
    const { parser } = exim([
      "2026-11-23 13:07:09 1tABCD-000000005vi-0000 <= a@b.example S=1",
      "2026-11-23 13:07:10 1tABCD-000000005vi-0000 Completed",
    ]);
    expect(parser.snapshot().messages).toEqual([]);
  });

  test("mail Exim generated (<= <> R=parent) is mail, with a notice naming the parent; the kind from what the parent went through", () => {
    // Exim's test suite: a delivery to a host that advertised DSN, then Exim's own DSN success.
    const dsn = exim([
      one("exim-test.log", "10HmaZ-000000005vi-0000 => rmt_accept <rmt_accept@test.ex> R=r1 T=tofile"),
      one("exim-test.log", "10HmbA-000000005vi-0000 <= <> R=10HmaZ-000000005vi-0000"),
      one("exim-test.log", "10HmbA-000000005vi-0000 => :blackhole: <b@dump.ex>"),
    ]).events.filter((e) => e.queue_id === "10HmbA-000000005vi-0000");
    expect(dsn.map((e) => `${e.type} ${e.rcpt_to}`)).toEqual(["injection b@dump.ex", "delivery b@dump.ex"]);
    for (const e of dsn) expect(e).toMatchObject({ mail_from: "", notice: { kind: "success", of_queue_id: "10HmaZ-000000005vi-0000" } });

    // Exim's test 0608 shapes: a failure, then its bounce; a deferral, then a delay warning.
    const t = "2026-11-23 13:07:0";
    const lines = [
      `${t}1 1tAAAA-000000005vi-0000 <= a@example.com U=app P=local S=900 id=orig-1@example.com for x@example.org y@example.org`,
      `${t}2 1tAAAA-000000005vi-0000 ** x@example.org R=dnslookup T=remote_smtp H=mx.example.org [203.0.113.5]: SMTP error from remote mail server after RCPT TO:<x@example.org>: 550 5.1.1 unknown`,
      `${t}2 1tAAAA-000000005vi-0000 == y@example.org R=dnslookup T=remote_smtp defer (-44) H=mx.example.org [203.0.113.5]: SMTP error from remote mail server after RCPT TO:<y@example.org>: 451 4.2.0 later`,
      `${t}2 1tBBBB-000000005vi-0000 <= <> R=1tAAAA-000000005vi-0000 U=Debian-exim P=local S=1900 for a@example.com`,
      `${t}3 1tBBBB-000000005vi-0000 => a@example.com R=dnslookup T=remote_smtp H=mx.example.com [192.0.2.1] C="250 OK"`,
      `${t}8 1tAAAA-000000005vi-0000 == y@example.org R=dnslookup T=remote_smtp defer (-44) H=mx.example.org [203.0.113.5]: SMTP error from remote mail server after RCPT TO:<y@example.org>: 451 4.2.0 later`,
      `${t}8 1tCCCC-000000005vi-0000 <= <> R=1tAAAA-000000005vi-0000 U=Debian-exim P=local S=1800 for a@example.com`,
      `${t}9 1tCCCC-000000005vi-0000 => a@example.com R=dnslookup T=remote_smtp H=mx.example.com [192.0.2.1] C="250 OK"`,
    ];
    const { events } = exim(lines);
    const notices = events
      .filter((e) => e.mail_from === "")
      .map((e) => `${e.type} ${e.queue_id} ${e.rcpt_to} ${JSON.stringify((e as { notice?: object }).notice)}`);
    const about = '"of_queue_id":"1tAAAA-000000005vi-0000","of_message_id":"orig-1@example.com"}';
    expect(notices).toEqual([
      `injection 1tBBBB-000000005vi-0000 a@example.com {"kind":"bounce",${about}`,
      `delivery 1tBBBB-000000005vi-0000 a@example.com {"kind":"bounce",${about}`,
      `injection 1tCCCC-000000005vi-0000 a@example.com {"kind":"delay",${about}`,
      `delivery 1tCCCC-000000005vi-0000 a@example.com {"kind":"delay",${about}`,
    ]);
    expect(events.filter((e) => e.queue_id === "1tAAAA-000000005vi-0000" && "notice" in e)).toEqual([]);
  });
});

describe("rejections", () => {
  test("rejected RCPT: client, sender, recipient, reason (fail2ban, with [pid] and old id)", () => {
    expect(only(exim([one("fail2ban-exim.log", "rejected RCPT <oksana@birzhatm.ua>")]).events, "policy_rejection")).toMatchObject({
      client_ip: "111.67.203.116",
      mail_from: "kadrofutcheti@mail.ru",
      rcpt_to: "oksana@birzhatm.ua",
      response: "Unknown user",
      bounce_class: "unknown_user",
    });
    expect(only(exim([one("fail2ban-exim.log", "[10099]", "relay not permitted")]).events, "policy_rejection")).toMatchObject({
      client_ip: "202.132.70.178",
      mail_from: "menacedsj04@listserv.eurasia.org",
      rcpt_to: "dir@ml3.ru",
      bounce_class: "policy",
    });
    expect(only(exim([one("fail2ban-exim.log", "sorbs.net")]).events, "policy_rejection")).toMatchObject({
      rcpt_to: "info@nanomedtech.ua",
      bounce_class: "block",
    });
  });

  test("temporarily rejected RCPT, rejected after DATA with an id, local_scan", () => {
    expect(only(exim([one("exim-test.log", "temporarily rejected RCPT <cond-rhubarb@test.ex>")]).events, "policy_rejection")).toMatchObject(
      { client_ip: "56.56.57.57", mail_from: "userx@test.ex", rcpt_to: "cond-rhubarb@test.ex" },
    );
    expect(only(exim([one("fail2ban-exim.log", "This message contains a virus")]).events, "policy_rejection")).toMatchObject({
      queue_id: "1Unmew-0000ea-SE",
      client_ip: "83.235.177.148",
      bounce_class: "content",
    });
    expect(only(exim([one("fail2ban-exim.log", "1Ai79e-0000Dq-8i")]).events, "policy_rejection")).toMatchObject({
      mail_from: "uzwltcmwto24@melissacam.biz",
      client_ip: "4.47.28.40",
    });
  });

  test("not policy: protocol errors, auth failures, sender verify notes, SpamAssassin notes", () => {
    for (const needle of [
      "synchronization error",
      "authenticator failed",
      "sender verify fail for",
      "SA: Action",
      "dropped: too many nonmail",
    ]) {
      expect(exim(findLines("fail2ban-exim.log", needle)).events, needle).toEqual([]);
    }
  });
});
