// The bounce classification table: a case per class, precedence, and extension.
import { describe, expect, test } from "bun:test";
import { BOUNCE_CLASSES } from "../../src/events/schema.ts";
import { BOUNCE_RULES, type BounceRule, classifyBounce, classifyReply, maskReply } from "../../src/events/bounce-class.ts";

const CASES: [string, { dsn?: string; text?: string }, string][] = [
  ["mailbox full by DSN", { dsn: "5.2.2", text: "host said: 552 sorry" }, "quota"],
  ["quota by text", { dsn: "4.0.0", text: "mailbox is full (MTA-imposed quota exceeded while writing)" }, "quota"],
  [
    "user unknown",
    { dsn: "5.1.1", text: "host said: 550 5.1.1 <a@b>: Recipient address rejected: User unknown in virtual mailbox table" },
    "unknown_user",
  ],
  [
    "user unknown behind a 5.0.0",
    { dsn: "5.0.0", text: "host mx[1.2.3.4] said: 550 MAILBOX NOT FOUND (in reply to RCPT TO command)" },
    "unknown_user",
  ],
  ["local(8) unknown user", { dsn: "5.1.1", text: 'unknown user: "dsi"' }, "unknown_user"],
  [
    "domain not found",
    { dsn: "4.4.3", text: "Host or domain name not found. Name service error for name=example.com type=MX" },
    "unknown_domain",
  ],
  ["Exim unrouteable", { text: "Unrouteable address" }, "unknown_domain"],
  ["RBL listing", { dsn: "5.7.1", text: "554 5.7.1 Service unavailable; Client host [10.0.0.1] blocked using zen.spamhaus.org" }, "block"],
  ["DNSBL that mentions spam", { text: "rejected because 1.2.3.4 is in a black list at dnsbl.sorbs.net Currently Sending Spam" }, "block"],
  ["Gmail unsolicited", { dsn: "5.7.1", text: "550-5.7.1 this message is likely unsolicited mail" }, "spam"],
  ["163.com DT:SPM", { dsn: "4.0.0", text: "451 DT:SPM 163 mx40, please try again 15min later" }, "spam"],
  ["SASL", { dsn: "5.7.8", text: "SASL authentication failed; server said: 535 5.7.8 Error: authentication failed" }, "auth"],
  ["DMARC", { dsn: "5.7.26", text: "550 5.7.26 Unauthenticated email is not accepted" }, "auth"],
  ["virus", { dsn: "5.7.0", text: "554 5.7.0 Reject, id=11912-03 - INFECTED: Eicar-Test-Signature (virus)" }, "content"],
  ["too big", { dsn: "5.3.4", text: "552 5.3.4 Message size exceeds fixed limit" }, "content"],
  ["relay denied", { dsn: "5.7.1", text: "554 5.7.1 <a@b>: Relay access denied" }, "policy"],
  ["greylisted", { dsn: "4.7.1", text: "450 4.7.1 <a@b>: Recipient address rejected: Greylisted" }, "policy"],
  ["connection refused", { dsn: "4.4.1", text: "connect to mx.example.com[10.0.0.1]:25: Connection refused" }, "network"],
  ["TLS failure", { text: "TLS session: (certificate verification failed): certificate invalid" }, "network"],
  ["other permanent", { dsn: "5.3.0", text: 'Command died with signal 11: "/usr/sbin/dbmail-smtp"' }, "hard"],
  ["other temporary", { dsn: "4.0.0", text: "host ::1[::1] said: 451 Temporary internal failure - queue message failed" }, "soft"],
  ["code only", { text: "550 Administrative prohibition" }, "policy"],
  ["nothing to go on", { text: "Network is fine, thanks" }, "undetermined"],
];

describe("classifyBounce", () => {
  for (const [name, info, cls] of CASES) test(`${name} → ${cls}`, () => expect(classifyBounce(info)).toBe(cls as never));

  test("every class the schema knows is reachable", () => {
    const reached = new Set(CASES.map((c) => c[2]));
    for (const c of BOUNCE_CLASSES) expect(reached.has(c), c).toBe(true);
  });

  test("rules are data: a caller's table is tried in order", () => {
    const rules: BounceRule[] = [{ class: "policy", test: (f) => f.text.includes("custom-reason") }, ...BOUNCE_RULES];
    expect(classifyBounce({ dsn: "5.1.1", text: "custom-reason" }, rules)).toBe("policy");
    expect(classifyBounce({ dsn: "5.1.1", text: "custom-reason" })).toBe("unknown_user");
  });
});

describe("classifyReply (remembered per reply shape)", () => {
  test("masks addresses and IP literals, nothing else", () => {
    expect(maskReply("550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown")).toBe(
      "550 5.1.1 <>: Recipient address rejected: User unknown",
    );
    expect(maskReply("connect to mx.example.org[203.0.113.5]:25: Connection refused")).toBe(
      "connect to mx.example.org[]:25: Connection refused",
    );
    expect(maskReply("host mx[IPv6:2001:db8::1] said: 451 <a@b> later <c@d>")).toBe("host mx[] said: 451 <> later <>");
    // Not an address, not an IP: kept, so the words in them still count.
    expect(maskReply("554 [spam] rejected <no-at-sign> (see [RFC 5321])")).toBe("554 [spam] rejected <no-at-sign> (see [RFC 5321])");
    expect(maskReply("unclosed <a@b and [1.2.3.4")).toBe("unclosed <a@b and [1.2.3.4");
    expect(maskReply("no brackets")).toBe("no brackets");
  });

  test("gives classifyBounce's answer for every case of the table, first time and remembered", () => {
    for (let round = 0; round < 2; round++) {
      for (const [name, info, cls] of CASES) expect(classifyReply(info.dsn, info.text), name).toBe(cls as never);
    }
    expect(classifyReply(undefined, undefined)).toBe(classifyBounce({}));
  });

  test("replies differing only in address or peer share a class; a different reason does not", () => {
    const a = classifyReply("4.2.2", "host mx1[192.0.2.1] said: 452 <a@example.org>: mailbox full");
    const b = classifyReply("4.2.2", "host mx1[192.0.2.99] said: 452 <b@example.org>: mailbox full");
    expect([a, b]).toEqual(["quota", "quota"]);
    expect(classifyReply("5.0.0", "host mx1[192.0.2.1] said: 550 <a@example.org>: no such user")).toBe("unknown_user");
  });
});
