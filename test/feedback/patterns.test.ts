import { describe, expect, test } from "bun:test";
import { BOUNCE_PATTERNS } from "../../src/feedback/patterns.ts";
import { parseFeedback } from "../../src/feedback/report.ts";
import { BOUNCE, FBL, expectKind, fixture, parse } from "./helpers.ts";

// Bounces without a delivery-status part, read by the pattern table. One case per row; the
// expected recipients, codes and returned Message-IDs are those written in each fixture.

const cases: {
  file: string;
  pattern: string;
  rcpts: string[];
  dsn?: (string | undefined)[];
  cls?: string[];
  reason?: string;
  messageId?: string;
  action?: "delayed";
}[] = [
  {
    file: "lhost-qmail-01.eml",
    pattern: "qmail",
    rcpts: ["kijitora@example.ne.jp"],
    dsn: ["5.5.0"],
    cls: ["unknown_user"],
    reason: "550 Unknown user kijitora@example.ne.jp",
    messageId: "000000000.9999999999999.JavaMail.postmaster@mailhub",
  },
  {
    file: "lhost-qmail-02.eml",
    pattern: "qmail",
    rcpts: ["userunknown@example.jp", "filtered@example.jp"],
    dsn: ["5.1.1", "5.2.1"],
    reason: "Remote host said: 550 5.1.1 <userunknown@example.jp>... User Unknown",
  },
  {
    file: "lhost-yahoo-01.eml",
    pattern: "yahoo",
    rcpts: ["kijitora@example.org"],
    dsn: ["5.1.1"],
    cls: ["unknown_user"],
    messageId: "6AE6249A-E7A8-4980-862C-F499F6B8E7C5@y.example.co.jp",
  },
  {
    file: "lhost-postfix-07.eml",
    pattern: "postfix",
    rcpts: ["kijitora@user.example.or.jp"],
    cls: ["unknown_user"],
    reason: "said: 550 <kijitora@user.example.or.jp>: User unknown",
    messageId: "8EF96F3F-377B-4E4D-9F3C-54EE1924B2BA@mirror.example.ne.jp",
  },
  {
    file: "lhost-exim-01.eml",
    pattern: "exim",
    rcpts: ["kijitora@example.ed.jp"],
    dsn: ["5.7.0"],
    reason: "550 5.7.0 <shironeko@example.jp>... Please use the smtp server of your ISP.",
    messageId: "E1P1ce6-000Egt-GZ@e1.example.org",
  },
  {
    file: "lhost-exim-02.eml",
    pattern: "exim",
    rcpts: ["kijitora@example.jp", "sabatora@example.jp"],
    dsn: ["5.1.1", "5.2.1"],
    messageId: "E1X58pB-0004bW-2s@marutamachi.example.org",
  },
  {
    file: "lhost-exim-38.eml",
    pattern: "exim-delay",
    rcpts: ["kijitora@example.co.jp"],
    reason: "450 service permits 2 unverifyable sending IPs",
    action: "delayed",
  },
  {
    file: "lhost-mailru-01.eml",
    pattern: "exim",
    rcpts: ["kijitora@example.jp"],
    dsn: ["5.1.1"],
    messageId: "8F3CE2D8-D60E-48C3-B9AF-BED628EE2CA5@mail.example.ru",
  },
  {
    file: "lhost-gmx-01.eml",
    pattern: "exim",
    rcpts: ["shironeko@example.jp"],
    dsn: ["5.2.2"],
    cls: ["quota"],
    messageId: "trinity-d174cb7e-d4a8-4dd5-8b53-7a9f70928e75-1417217529360@3capp-mailcom-lxa02",
  },
  // A DSN whose Final-Recipient is broken ("RFC822; @mx.example.org"): read from its text instead.
  {
    file: "lhost-sendmail-15.eml",
    pattern: "sendmail",
    rcpts: ["kijitora@example.org"],
    reason: "(reason: 550 Host unknown)",
    messageId: "00000000000000000000000000@example.or.jp",
  },
  {
    file: "lhost-exchange2003-01.eml",
    pattern: "exchange-ims",
    rcpts: ["kijitora@example.jp"],
    cls: ["unknown_user"],
    reason: "The recipient name is not recognized",
  },
  {
    file: "lhost-exchange2003-02.eml",
    pattern: "exchange-ims",
    rcpts: ["kijitora@example.co.jp", "mikeneko@example.co.jp"],
    messageId: "000000000000000.0000000@example.jp",
  },
  {
    file: "lhost-office365-02.eml",
    pattern: "exchange",
    rcpts: ["kijitora@example.onmicrosoft.com"],
    dsn: ["5.1.1"],
    reason: "Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'",
    messageId: "c302b7e8-9b97-40ef-90eb-313cc6c25133@NYAAAAN.example.org",
  },
  {
    file: "lhost-gmail-01.eml",
    pattern: "gmail",
    rcpts: ["userunknown@example.jp"],
    dsn: ["5.1.1"],
    reason: "550 5.1.1 <userunknown@example.jp>... User Unknown",
    messageId: "D992C2C3-F175-4C4D-97E2-53A90E4E5BF5@gmail.com",
  },
  { file: "lhost-gmail-06.eml", pattern: "gmail-delay", rcpts: ["kijitora@example.jp"], dsn: ["4.2.2"], cls: ["quota"], action: "delayed" },
  {
    file: "lhost-dragonfly-01.eml",
    pattern: "dragonfly",
    rcpts: ["pseudo-local-part@google.example.com"],
    dsn: ["5.7.26"],
    cls: ["auth"],
    messageId: "66681288.e06d1.3824794@df.example.jp",
  },
  { file: "lhost-opensmtpd-01.eml", pattern: "opensmtpd", rcpts: ["apdugoaidugoaidugoaeiudggadi@gmail.com"], dsn: ["5.1.1"] },
  {
    file: "lhost-domino-01.eml",
    pattern: "domino",
    rcpts: ["kijitora@example.jp"],
    reason: "User some.name (kijitora@example.jp) not listed in Domino Directory",
  },
  {
    file: "lhost-notes-01.eml",
    pattern: "notes",
    rcpts: ["kijitora@u1.example.co.jp"],
    messageId: "000000000.0000000000000.notes@example.co.jp",
  },
];

describe("the pattern table on real bounces (sisimai set-of-emails)", () => {
  for (const c of cases) {
    test(`${c.file}: ${c.pattern} → ${c.rcpts.join(", ")}`, async () => {
      const r = expectKind(await parse(`sisimai/${c.file}`), "plain_bounce");
      expect(r.pattern).toBe(c.pattern);
      expect(r.recipients.map((x) => x.rcpt)).toEqual(c.rcpts);
      for (const x of r.recipients) expect(x.action).toBe(c.action ?? "failed");
      if (c.dsn) expect(r.recipients.map((x) => x.dsn)).toEqual(c.dsn);
      if (c.cls) expect(r.recipients.map((x) => x.bounceClass)).toEqual(c.cls as never);
      if (c.reason) expect(r.recipients[0]!.reason).toContain(c.reason);
      if (c.messageId) expect(r.original?.messageId).toBe(c.messageId);
    });
  }

  test("every row of the table has a case above (a row nobody tests is a row nobody trusts)", () => {
    const tested = new Set(cases.map((c) => c.pattern));
    const untested = BOUNCE_PATTERNS.map((p) => p.name).filter((n) => !tested.has(n) && n !== "x-failed-recipients");
    expect(untested).toEqual([]);
  });

  test("x-failed-recipients: the last row reads the header when the text matches no row", async () => {
    const raw = new TextEncoder().encode(
      [
        "From: Mail Delivery System <Mailer-Daemon@mx.example.net>",
        "X-Failed-Recipients: gone@example.org",
        "Subject: Mail delivery failed",
        "",
        "Something unusual happened.",
        "",
        "  host mx.example.org: 550 5.1.1 gone@example.org: no such user",
        "",
      ].join("\r\n"),
    );
    const r = expectKind(await parseFeedback(raw, BOUNCE), "plain_bounce");
    expect(r.pattern).toBe("x-failed-recipients");
    expect(r.recipients).toEqual([
      {
        rcpt: "gone@example.org",
        action: "failed",
        dsn: "5.1.1",
        bounceClass: "unknown_user",
        reason: "host mx.example.org: 550 5.1.1 gone@example.org: no such user",
      },
    ]);
  });
});

describe("what is not a bounce", () => {
  test("an RFC 3834 auto-reply (null sender, Auto-Submitted) names no failed recipient", async () => {
    const r = expectKind(await parse("sisimai/rfc3834-01.eml"), "not_a_report");
    expect(r.reason).toBe("bounce in a format no pattern reads");
  });

  test("ordinary mail sent to the feedback address, from a person", async () => {
    for (const f of ["sisimai/is-not-bounce-01.eml", "sisimai/is-not-bounce-02.eml"]) {
      const r = expectKind(await parse(f, FBL), "not_a_report");
      expect(r.reason).toBe("not a bounce, complaint or unsubscribe mail");
    }
  });

  test("bounce-like text in mail that does not present itself as a bounce is not read", async () => {
    // qmail's wording, but a person's sender and subject: no pattern runs.
    const raw = new TextEncoder().encode(
      [
        "From: Alice <alice@example.org>",
        "Subject: look at this",
        "",
        "Hi. This is the qmail-send program at mx.example.org.",
        "",
        "<bob@example.org>:",
        "550 no such user",
        "",
      ].join("\r\n"),
    );
    expect((await parseFeedback(raw, FBL)).kind).toBe("not_a_report");
    // The same text from MAILER-DAEMON with a null sender is a bounce.
    const bounce = new TextEncoder().encode(
      new TextDecoder().decode(raw).replace("Alice <alice@example.org>", "MAILER-DAEMON@mx.example.org"),
    );
    expect(expectKind(await parseFeedback(bounce, BOUNCE), "plain_bounce").recipients[0]!.rcpt).toBe("bob@example.org");
  });

  test("a report read from fixture bytes twice is the same report", async () => {
    const a = await parseFeedback(fixture("sisimai/lhost-qmail-01.eml"), BOUNCE);
    const b = await parseFeedback(fixture("sisimai/lhost-qmail-01.eml"), BOUNCE);
    expect(a).toEqual(b);
  });
});
