import { describe, expect, test } from "bun:test";
import { parseFeedback } from "../../src/feedback/report.ts";
import { FBL, expectKind, parse } from "./helpers.ts";

// Expected values are the fields as written in each fixture (see test/fixtures/feedback/README.md).

describe("RFC 5965 examples", () => {
  test("minimal report: the three required fields, the returned message's Message-ID and queue id", async () => {
    const r = expectKind(await parse("rfc/rfc5965-minimal.eml", FBL), "complaint");
    expect(r).toMatchObject({ feedbackType: "abuse", userAgent: "SomeGenerator/1.0", version: "1", originalRcptTo: [] });
    expect(r.original).toMatchObject({
      messageId: "8787KJKJ3K4J3K4J3K4J3.mail@example.net",
      subject: "Earn money",
      from: "somespammer@example.net",
    });
    // "To: <Undisclosed Recipients>" names nobody.
    expect(r.original?.to).toEqual([]);
    expect(r.original?.queueIds).toEqual([{ id: "M63d4137594e46", host: "example.com" }]);
  });

  test("extended report: every optional field", async () => {
    const r = expectKind(await parse("rfc/rfc5965-extended.eml", FBL), "complaint");
    expect(r).toMatchObject({
      feedbackType: "abuse",
      originalRcptTo: ["user@example.com"],
      originalMailFrom: "somespammer@example.net",
      sourceIp: "192.0.2.1",
      reportedDomain: ["example.net"],
      // Thu, 8 Mar 2005 14:00:00 EDT
      arrivalDate: "2005-03-08T18:00:00.000Z",
    });
    expect(r.report).toMatchObject({ from: "abusedesk@example.com", subject: "FW: Earn money" });
  });
});

describe("real complaints (sisimai set-of-emails)", () => {
  test("Yahoo (Feedback/1.0): recipient, sender, Received-Date as the arrival date, returned Message-ID", async () => {
    const r = expectKind(await parse("sisimai/arf-02.eml", FBL), "complaint");
    expect(r).toMatchObject({
      feedbackType: "abuse",
      userAgent: "Yahoo!-Mail-Feedback/1.0",
      originalRcptTo: ["this-local-part-does-not-exist-on-yahoo@yahoo.com"],
      originalMailFrom: "shironeko@example.com",
      reportedDomain: ["example.com"],
    });
    // Received-Date: Thu, 29 Apr 2013 23:45:50 PST
    expect(r.arrivalDate).toBe("2013-04-30T07:45:50.000Z");
    expect(r.original).toMatchObject({ messageId: "000000000000000000000000.smtp@example.com", subject: "Nyaaaaaaaan" });
    expect(r.report.messageId).toBe("00000000000000.00000.smtp@mx8.example.com");
  });

  test("Yahoo (Feedback/2.0) through Amazon SES", async () => {
    const r = expectKind(await parse("sisimai/arf-14.eml", FBL), "complaint");
    expect(r).toMatchObject({
      userAgent: "Yahoo!-Mail-Feedback/2.0",
      originalRcptTo: ["kijitora@y.example.com"],
      reportedDomain: ["amazonses.com"],
    });
    expect(r.original?.messageId).toBe("2222222222222222-00000000-eeee-eeee-ffff-222222222222-111111@email.amazonses.com");
  });

  test("Return Path FBL: seven Original-Rcpt-To, two Reported-Domain", async () => {
    const r = expectKind(await parse("sisimai/arf-16.eml", FBL), "complaint");
    expect(r.originalRcptTo).toEqual([
      "kijitora@example.com",
      "sironeko@example.com",
      "mikeneko@example.com",
      "sabatora@example.com",
      "sirokiji@example.org",
      "kuroneko@example.com",
      "sabineko@example.com",
    ]);
    expect(r.reportedDomain).toEqual(["example.com", "example.org"]);
    expect(r.userAgent).toBe("ReturnPathFBL/1.0");
  });

  test("a provider that redacts the recipient (SMP-FBL): no Original-Rcpt-To, the returned To is what is left", async () => {
    const r = expectKind(await parse("sisimai/arf-01.eml", FBL), "complaint");
    expect(r.originalRcptTo).toEqual([]);
    expect(r.sourceIp).toBe("192.0.2.89");
    expect(r.original?.to).toEqual(["redacted@example.net"]);
  });

  test("Rackspace (hashed recipient, REDACTED original): the fields are read, the original is not invented", async () => {
    const r = expectKind(await parse("sisimai/arf-25.eml", FBL), "complaint");
    expect(r).toMatchObject({
      feedbackType: "abuse",
      originalRcptTo: ["hashed@example.com"],
      originalMailFrom: "alice@example.com",
      sourceIp: "10.0.0.1",
      userAgent: "ReturnPathFBL/2.0",
    });
    expect(r.original).toBeUndefined();
  });

  test("opt-out report with the headers in a part mistyped text/rfc822-header", async () => {
    const r = expectKind(await parse("sisimai/arf-12.eml", FBL), "complaint");
    expect(r.feedbackType).toBe("opt-out");
    expect(r.original).toMatchObject({ messageId: "0000000000000000000000000@example.net", subject: "Nyaaan" });
  });

  test("auth-failure (a DMARC failure report) is read as a report of that type", async () => {
    const r = expectKind(await parse("sisimai/arf-18.eml", FBL), "complaint");
    expect(r).toMatchObject({ feedbackType: "auth-failure", userAgent: "Lua/1.0", originalRcptTo: ["kijitora@example.com"] });
  });

  test("Microsoft JMRP (no ARF part): the complainant from X-HmXmrOriginalRecipient", async () => {
    const r = expectKind(await parse("sisimai/arf-22.eml", FBL), "complaint");
    expect(r).toMatchObject({ feedbackType: "abuse", userAgent: "Microsoft-JMRP", originalRcptTo: ["kijitora@example.com"] });
    expect(r.original?.messageId).toBe("0000000000fffffffff0000000000000@example.com");
  });
});

describe("malformed feedback reports", () => {
  const report = (fields: string) =>
    new TextEncoder().encode(
      [
        "From: fbl@isp.example",
        'Content-Type: multipart/report; report-type=feedback-report; boundary="f"',
        "",
        "--f",
        "Content-Type: message/feedback-report",
        "",
        fields,
        "--f--",
        "",
      ].join("\r\n"),
    );

  test("without Feedback-Type: not_a_report, with the reason", async () => {
    const r = expectKind(await parseFeedback(report("User-Agent: X/1\r\nOriginal-Rcpt-To: a@example.org\r\n"), FBL), "not_a_report");
    expect(r.reason).toBe("feedback report without Feedback-Type");
  });

  test("junk values are left out, the rest is kept", async () => {
    const r = expectKind(
      await parseFeedback(
        report(
          "Feedback-Type: Abuse\r\nOriginal-Rcpt-To: nobody\r\nOriginal-Rcpt-To: <b@example.org>\r\nSource-IP: not an ip\r\nArrival-Date: yesterday\r\n",
        ),
        FBL,
      ),
      "complaint",
    );
    expect(r.feedbackType).toBe("abuse");
    expect(r.originalRcptTo).toEqual(["b@example.org"]);
    expect(r.sourceIp).toBeUndefined();
    expect(r.arrivalDate).toBeUndefined();
  });
});
