import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseFeedback } from "../../src/feedback/report.ts";
import type { FeedbackReport } from "../../src/feedback/types.ts";
import { unsubscribeAddress } from "../../src/feedback/unsubscribe.ts";
import { BOUNCE, FIXTURES, expectKind, fixture, parse } from "./helpers.ts";

const all = ["rfc", "sisimai"].flatMap((d) =>
  readdirSync(join(FIXTURES, d))
    .filter((f) => f.endsWith(".eml"))
    .map((f) => `${d}/${f}`),
);

function withoutBytes(r: FeedbackReport) {
  const { key: _k, size: _s, ...meta } = r.report;
  return { ...r, report: meta };
}

describe("parseFeedback", () => {
  test("line endings do not matter: every fixture read with CRLF gives the report it gives with LF", async () => {
    for (const f of all) {
      const lf = new TextDecoder("latin1").decode(fixture(f)).replace(/\r\n/g, "\n");
      const crlf = Uint8Array.from(lf.replace(/\n/g, "\r\n"), (ch) => ch.charCodeAt(0));
      const a = await parseFeedback(
        Uint8Array.from(lf, (ch) => ch.charCodeAt(0)),
        BOUNCE,
      );
      const b = await parseFeedback(crlf, BOUNCE);
      expect({ f, r: withoutBytes(b) }).toEqual({ f, r: withoutBytes(a) });
    }
  });

  test("the report key: from Message-ID, Date and From when there is a Message-ID, else from the bytes", async () => {
    const a = await parse("sisimai/lhost-qmail-01.eml");
    const b = await parseFeedback(
      new TextEncoder().encode(`X-Extra: 1\n${new TextDecoder().decode(fixture("sisimai/lhost-qmail-01.eml"))}`),
      BOUNCE,
    );
    // qmail's bounce has no Message-ID: a header more makes it another report.
    expect(a.report.messageId).toBeUndefined();
    expect(a.report.key).not.toBe(b.report.key);
    const c = await parse("sisimai/lhost-postfix-02.eml");
    const d = await parseFeedback(
      new TextEncoder().encode(`X-Extra: 1\n${new TextDecoder().decode(fixture("sisimai/lhost-postfix-02.eml"))}`),
      BOUNCE,
    );
    // With a Message-ID, a header the delivering MTA adds (Delivered-To, Received) does not.
    expect(c.report.key).toBe(d.report.key);
  });

  test("mail to the unsubscribe address is an unsubscribe, whatever its body says", async () => {
    const env = { mailFrom: "example@icloud.com", rcptTo: [unsubscribeAddress("u-1.x", "bounces.example.com")] };
    const r = expectKind(await parse("sisimai/arf-26.eml", env), "unsubscribe");
    expect(r).toMatchObject({ token: "u-1.x", address: "unsubscribe+u-1.x@bounces.example.com", sender: "example@icloud.com" });
    expect(r.report.subject).toBe("unsubscribe");
  });

  test("empty, tiny and non-mail input: not_a_report with a reason, never a throw", async () => {
    for (const raw of [
      new Uint8Array(0),
      new Uint8Array([0]),
      new TextEncoder().encode("\r\n\r\n"),
      new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"),
    ]) {
      const r = expectKind(await parseFeedback(raw, BOUNCE), "not_a_report");
      expect(r.reason.length).toBeGreaterThan(0);
    }
    // An envelope a caller got wrong is survived too.
    const odd = await parseFeedback(fixture("sisimai/lhost-qmail-01.eml"), { mailFrom: "", rcptTo: undefined as unknown as string[] });
    expect(odd.kind).toBe("plain_bounce");
  });

  test("a message over the read limit is read up to it: the report parts come first", async () => {
    const big = new TextDecoder()
      .decode(fixture("sisimai/lhost-postfix-02.eml"))
      .replace("Content-Type: message/rfc822\n\n", `Content-Type: message/rfc822\n\n${"X-Pad: x\n".repeat(600_000)}`);
    const raw = new TextEncoder().encode(big);
    expect(raw.byteLength).toBeGreaterThan(4 * 1024 * 1024);
    const r = expectKind(await parseFeedback(raw, BOUNCE), "dsn");
    expect(r.recipients).toHaveLength(2);
    expect(r.report.size).toBe(raw.byteLength);
  });
});
