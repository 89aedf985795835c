import { describe, expect, test } from "bun:test";
import { parseFeedback } from "../../src/feedback/report.ts";
import { BOUNCE, expectKind, parse } from "./helpers.ts";

// Expected values are the fields as written in each fixture (see test/fixtures/feedback/README.md).

describe("RFC 3464 examples", () => {
  test("simple DSN: one recipient, failed, 4.0.0, smtp diagnostic, Reporting-MTA, Last-Attempt-Date", async () => {
    const r = expectKind(await parse("rfc/rfc3464-simple-dsn.eml"), "dsn");
    expect(r.reportingMta).toBe("cs.utk.edu");
    expect(r.recipients).toEqual([
      {
        finalRecipient: "louisl@larry.slip.umd.edu",
        originalRecipient: "louisl@larry.slip.umd.edu",
        action: "failed",
        status: "4.0.0",
        diagnosticType: "smtp",
        diagnostic: "426 connection timed out",
        lastAttemptDate: "1994-07-07T21:15:49.000Z",
      },
    ]);
    expect(r.report.messageId).toBe("199407072116.RAA14128@CS.UTK.EDU");
    // "[original message goes here]" names no message.
    expect(r.original).toBeUndefined();
  });

  test("multi-recipient DSN: failed, delayed and failed; status comments dropped; folded diagnostic unfolded", async () => {
    const r = expectKind(await parse("rfc/rfc3464-multi-recipient-dsn.eml"), "dsn");
    expect(r.recipients.map((x) => [x.finalRecipient, x.action, x.status, x.remoteMta])).toEqual([
      ["arathib@vnet.ibm.com", "failed", "5.0.0", "vnet.ibm.com"],
      ["johnh@hpnjld.njd.hp.com", "delayed", "4.0.0", undefined],
      ["wsnell@sdcc13.ucsd.edu", "failed", "5.0.0", "sdcc13.ucsd.edu"],
    ]);
    expect(r.recipients[0]!.diagnostic).toBe("550 'arathib@vnet.IBM.COM' is not a registered gateway user");
    expect(r.recipients[2]!.diagnostic).toBe("550 user unknown");
    // This example has no Message-ID: the report key falls back to a hash of its bytes.
    expect(r.report.messageId).toBeUndefined();
    expect(r.report.key).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe("real DSNs (sisimai set-of-emails)", () => {
  test("Postfix: alias expansion (Original-Recipient differs), x-unix diagnostic, X-Postfix-Queue-ID", async () => {
    const r = expectKind(await parse("sisimai/lhost-postfix-01.eml"), "dsn");
    expect(r.reportingMta).toBe("p351355.pool.example.ne.jp");
    expect(r.queueId).toBe("00000000000");
    expect(r.recipients).toHaveLength(1);
    expect(r.recipients[0]).toMatchObject({
      finalRecipient: "r@p351355.pool.example.ne.jp",
      originalRecipient: "kijitora@example.org",
      action: "failed",
      status: "5.1.1",
      diagnosticType: "x-unix",
    });
    expect(r.recipients[0]!.diagnostic).toStartWith('procmail: Couldn\'t create "/var/spool/mail/neko" id: r.example.org: No such user');
  });

  test("Postfix: two recipients, each with its own status and diagnostic", async () => {
    const r = expectKind(await parse("sisimai/lhost-postfix-02.eml"), "dsn");
    expect(r.queueId).toBe("7874F1FB8E");
    expect(r.recipients.map((x) => [x.finalRecipient, x.status, x.diagnostic])).toEqual([
      ["filtered@example.co.jp", "5.2.1", "550 5.2.1 <filtered@example.co.jp>... User Unknown"],
      ["userunknown@example.co.jp", "5.1.1", "550 5.1.1 <userunknown@example.co.jp>... User Unknown"],
    ]);
  });

  test("Postfix: the returned message gives Message-ID, Subject and the queue id of its Received header", async () => {
    const r = expectKind(await parse("sisimai/lhost-postfix-57.eml"), "dsn");
    expect(r.queueId).toBe("44kWHZ2S3Qz1yxHC");
    expect(r.original).toMatchObject({
      messageId: "44kWHZ2S3Qz1yxHC@rokujo.cr.nyaan.jp",
      subject: "Nyaan",
      from: "azumakuniyuki@ms.example.com",
      to: ["kijitora@cr.nyaan.jp"],
    });
    expect(r.original?.queueIds).toContainEqual({ id: "44kWHZ2S3Qz1yxHC", host: "rokujo.cr.nyaan.jp" });
    expect(r.report.messageId).toBe("44kWJ43kJDz1yxHF@rokujo.cr.nyaan.jp");
  });

  test("Gmail's 5.7.25 reply through Postfix: multi-line 550- diagnostic kept whole", async () => {
    const r = expectKind(await parse("sisimai/rhost-google-06.eml"), "dsn");
    expect(r.queueId).toBe("d140gHGZxpzCP4C8");
    expect(r.recipients[0]).toMatchObject({
      finalRecipient: "michitsuna@google.example.com",
      originalRecipient: "michitsuna@example.org",
      status: "5.7.25",
      remoteMta: "gmail-smtp-in.l.google.com",
    });
    expect(r.recipients[0]!.diagnostic).toStartWith("550-5.7.25 [192.0.2.202] The IP address sending this");
    expect(r.original?.messageId).toBe("222222EA-20C2-2200-EEEE-2222CEEEEA21@example.jp");
  });

  test("Sendmail: upper-case types (RFC822; DNS; SMTP;) read like lower-case", async () => {
    const r = expectKind(await parse("sisimai/lhost-sendmail-01.eml"), "dsn");
    expect(r.reportingMta).toBe("smtpgw.example.jp");
    expect(r.recipients[0]).toMatchObject({
      finalRecipient: "userunknown@bouncehammer.jp",
      status: "5.1.1",
      remoteMta: "mx.bouncehammer.jp",
      diagnosticType: "smtp",
      diagnostic: "550 5.1.1 <userunknown@bouncehammer.jp>... User Unknown",
    });
    expect(r.original?.messageId).toBe("E1C50F1B-1C83-4820-BC36-AC6FBFBE8568@example.org");
  });

  test("Exchange 2007 and Outlook.com: no space after the semicolons", async () => {
    const ex = expectKind(await parse("sisimai/lhost-exchange2007-01.eml"), "dsn");
    expect(ex.reportingMta).toBe("mx4.example.org");
    expect(ex.recipients[0]).toMatchObject({
      finalRecipient: "mikeneko@example.co.jp",
      status: "5.1.1",
      diagnostic: "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found",
    });
    const ol = expectKind(await parse("sisimai/lhost-outlook-02.eml"), "dsn");
    expect(ol.reportingMta).toBe("BLU004-OMC3S6.outlook.example.com");
    expect(ol.recipients[0]).toMatchObject({
      finalRecipient: "kijitora@example.jp",
      status: "5.1.1",
      diagnostic: "550 5.1.1 <kijitora@example.jp>... User Unknown",
    });
    expect(ol.original?.messageId).toBe("BLU436-SMTP6688F46CFBFB4294F252B1BA770@phx.gbl");
  });

  test("Exim DSN: Action before Final-Recipient; the returned Message-Id is the original's, not the report's", async () => {
    const r = expectKind(await parse("sisimai/lhost-exim-29.eml"), "dsn");
    expect(r.recipients[0]).toMatchObject({
      finalRecipient: "kijitora@example.co.jp",
      action: "failed",
      status: "5.0.0",
      remoteMta: "192.0.2.22",
    });
    expect(r.report.messageId).toBe("EFFFFFF-222222-00@example.co.jp");
    expect(r.original?.messageId).toBe("EEEEEEE-222222-00@example.co.jp");
  });

  test("delayed: OpenSMTPD's DSN in a multipart/mixed, and a capitalised Action: Delayed", async () => {
    const o = expectKind(await parse("sisimai/lhost-opensmtpd-15.eml"), "dsn");
    expect(o.recipients).toEqual([{ finalRecipient: "neko@nyaan.jp", action: "delayed", status: "4.4.7" }]);
    const d = expectKind(await parse("sisimai/rfc3464-07.eml"), "dsn");
    expect(d.recipients[0]).toMatchObject({ finalRecipient: "kijitora@example.net", action: "delayed", status: "4.4.0" });
  });

  test("Yandex: two recipients, 5.2.1 and 5.2.2", async () => {
    const r = expectKind(await parse("sisimai/lhost-yandex-02.eml"), "dsn");
    expect(r.recipients.map((x) => [x.finalRecipient, x.status])).toEqual([
      ["mikeneko@example.jp", "5.2.1"],
      ["sabineko@example.jp", "5.2.2"],
    ]);
  });

  test("a multipart/report whose MIME structure is lost is still read from its text", async () => {
    const r = expectKind(await parse("sisimai/lhost-messagingserver-03.eml"), "dsn");
    expect(r.recipients.map((x) => [x.finalRecipient, x.status, x.diagnostic])).toEqual([
      ["sabineko@example.org", "5.0.0", "550 5.7.1 550 User Unknown: sabineko@example.org"],
      ["mikeneko@example.org", "5.0.0", "550 5.7.1 550 User Unknown: mikeneko@example.org"],
    ]);
    expect(r.recipients[0]!.remoteMta).toBe("mailbox0.d5.example.org");
  });

  // More MTAs and providers: recipient, action, status, Reporting-MTA and returned Message-ID as written.
  const more: [string, string, string, string, string | undefined][] = [
    ["lhost-amazonses-01.eml", "shironeko@example.co.jp", "5.0.0", "a192-79.smtp-out.amazonses.com", undefined],
    ["lhost-courier-01.eml", "kijitora@example.co.jp", "5.0.0", "marutamachi.example.org", undefined],
    [
      "lhost-postfix-06.eml",
      "kijitora@neko.example.jp",
      "5.4.4",
      "vagrant-centos65.vagrantup.com",
      "20141024104625.9C81E2203D@vagrant-centos65.vagrantup.com",
    ],
    ["lhost-office365-03.eml", "kijitora@example.com", "5.1.0", "NEKONYAAN22.sotoneko.prod.outlook.com", undefined],
    ["lhost-opensmtpd-10.eml", "postmaster@cx.libsisimai.org", "5.0.0", "df.example.jp", "74f4e3b183602776@df.example.jp"],
    ["lhost-sendmail-05.eml", "kijitora@example.org", "5.2.3", "mx.example.jp", "000000B2-9997-8888-8999-000000000356@example.co.jp"],
    ["rhost-aol-02.eml", "kijitora@example.co.jp", "5.2.2", "omr-m5.mx.aol.com", "C1435873-4AD3-4C83-8967-AA2A4A91ACF9@aol.example.jp"],
    [
      "rhost-microsoft-01.eml",
      "kijitora@example.com",
      "5.7.606",
      "nyaan.example.ed.jp",
      "00000000000000000000000000000000000000000000000@example.net",
    ],
    [
      "rhost-yahooinc-03.eml",
      "this-local-part-does-not-exist@yahoo.com",
      "5.0.0",
      "mx2.example.jp",
      "201609121950.u8CJoQN3016081@mx2.example.jp",
    ],
    // Its header declares one boundary, its parts use another: read from the text.
    ["rhost-google-02.eml", "neko-nyaan@example.org", "5.1.1", "mail.example.co.jp", undefined],
  ];
  for (const [file, rcpt, status, mta, mid] of more) {
    test(`${file}: ${rcpt} failed ${status}`, async () => {
      const r = expectKind(await parse(`sisimai/${file}`), "dsn");
      expect(r.recipients.map((x) => [x.finalRecipient, x.action, x.status])).toEqual([[rcpt, "failed", status]]);
      expect(r.reportingMta).toBe(mta);
      if (mid) expect(r.original?.messageId).toBe(mid);
    });
  }

  test("a Postfix DSN with no recipient in its report is not_a_report, with the reason", async () => {
    const r = expectKind(await parse("sisimai/lhost-postfix-64.eml"), "not_a_report");
    expect(r.reason).toBe("delivery report without a recipient");
  });
});

describe("malformed delivery reports", () => {
  const wrap = (status: string) =>
    new TextEncoder().encode(
      [
        "From: MAILER-DAEMON@mx.example.org",
        "Message-ID: <r1@mx.example.org>",
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
        "",
        "--b",
        "Content-Type: message/delivery-status",
        "",
        status,
        "--b--",
        "",
      ].join("\r\n"),
    );

  test("no Action: the status class decides (5 → failed, 4 → delayed)", async () => {
    const failed = expectKind(await parseFeedback(wrap("Final-Recipient: rfc822; a@example.org\r\nStatus: 5.1.1\r\n"), BOUNCE), "dsn");
    expect(failed.recipients[0]!.action).toBe("failed");
    const delayed = expectKind(await parseFeedback(wrap("Final-Recipient: rfc822; a@example.org\r\nStatus: 4.4.1\r\n"), BOUNCE), "dsn");
    expect(delayed.recipients[0]!.action).toBe("delayed");
  });

  test("junk where fields belong: a recipient without an address is skipped, an unknown action kept as unknown", async () => {
    const r = expectKind(
      await parseFeedback(
        wrap(
          "Final-Recipient: rfc822; not-an-address\r\nAction: failed\r\n\r\nFinal-Recipient: rfc822;<b@example.org>\r\nAction: exploded\r\n",
        ),
        BOUNCE,
      ),
      "dsn",
    );
    expect(r.recipients).toEqual([{ finalRecipient: "b@example.org", action: "unknown" }]);
  });

  test("a delivery-status part with nothing in it is not_a_report", async () => {
    const r = expectKind(await parseFeedback(wrap("this is not a field\r\n"), BOUNCE), "not_a_report");
    expect(r.reason).toBe("delivery report without a recipient");
  });
});
