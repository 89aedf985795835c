import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { EventInput } from "../../src/events/schema.ts";
import { feedbackEvents } from "../../src/feedback/events.ts";
import { matchReport } from "../../src/feedback/match.ts";
import { parseFeedback } from "../../src/feedback/report.ts";
import type { FeedbackReport } from "../../src/feedback/types.ts";
import { FIXTURES, MemoryLookup, fixture } from "./helpers.ts";

// parseFeedback must never throw and must stay bounded, whatever arrives: real reports cut at
// any byte, with bytes flipped, spliced together, random MIME trees, random bytes. Seeded, so
// a failure is reproducible: the message's index is in the failure text.

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const enc = new TextEncoder();
const KINDS = new Set(["dsn", "complaint", "unsubscribe", "plain_bounce", "not_a_report"]);
const samples = ["rfc", "sisimai"].flatMap((d) => readdirSync(join(FIXTURES, d)).map((f) => fixture(`${d}/${f}`)));

const TYPES = [
  "multipart/report; report-type=delivery-status",
  "multipart/report; report-type=feedback-report",
  "multipart/mixed",
  "multipart/alternative",
  "message/delivery-status",
  "message/feedback-report",
  "message/rfc822",
  "text/rfc822-headers",
  "text/plain",
  "text/html",
  "application/octet-stream",
  "message/global-delivery-status",
];
const FIELDS = [
  "Final-Recipient",
  "Original-Recipient",
  "Action",
  "Status",
  "Diagnostic-Code",
  "Reporting-MTA",
  "Remote-MTA",
  "Feedback-Type",
  "Original-Rcpt-To",
  "Arrival-Date",
  "Message-ID",
  "Received",
  "X-Postfix-Queue-ID",
  "Source-IP",
  "Subject",
  "From",
  "To",
  "Content-Transfer-Encoding",
];
const VALUES = [
  "rfc822; a@example.org",
  "failed",
  "delayed",
  "5.1.1",
  "4.0.0 (x)",
  "smtp; 550 5.1.1 no",
  "dns; mx.example.org",
  "abuse",
  "<b@example.org>",
  "Thu, 7 Jul 1994 17:15:49 -0400",
  "by mx.example.org (Postfix) with ESMTP id 4BCD21C03F2",
  "base64",
  "quoted-printable",
  "",
  "<",
  "=?utf-8?B?====?=",
  ";;;",
  "\u00ff\u00fe",
];

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

function randomTree(rnd: () => number, depth: number): string {
  const type = pick(rnd, TYPES);
  const boundary = `b${Math.floor(rnd() * 1e6)}`;
  const headers = [`Content-Type: ${type}${type.startsWith("multipart") ? `; boundary="${rnd() < 0.9 ? boundary : "other"}"` : ""}`];
  for (let i = Math.floor(rnd() * 4); i > 0; i--) headers.push(`${pick(rnd, FIELDS)}: ${pick(rnd, VALUES)}`);
  if (type.startsWith("multipart") && depth < 6) {
    const parts: string[] = [];
    for (let i = 1 + Math.floor(rnd() * 4); i > 0; i--) parts.push(`--${boundary}\r\n${randomTree(rnd, depth + 1)}`);
    return `${headers.join("\r\n")}\r\n\r\n${parts.join("\r\n")}${rnd() < 0.8 ? `\r\n--${boundary}--\r\n` : ""}`;
  }
  const body: string[] = [];
  for (let i = Math.floor(rnd() * 12); i > 0; i--)
    body.push(
      rnd() < 0.7
        ? `${pick(rnd, FIELDS)}: ${pick(rnd, VALUES)}`
        : rnd() < 0.5
          ? ""
          : `<${pick(rnd, ["x@y.z", "a", "@", ""])}>: ${pick(rnd, VALUES)}`,
    );
  return `${headers.join("\r\n")}\r\n\r\n${body.join("\r\n")}`;
}

function mutate(rnd: () => number, i: number): Uint8Array {
  const base = samples[i % samples.length]!;
  switch (i % 6) {
    case 0: // cut at any byte
      return base.slice(0, Math.floor(rnd() * base.length));
    case 1: {
      // bytes flipped (CR, LF, ':', '-', NUL and random bytes are the interesting ones)
      const out = base.slice();
      for (let n = 1 + Math.floor(rnd() * 20); n > 0; n--)
        out[Math.floor(rnd() * out.length)] = pick(rnd, [10, 13, 58, 45, 0, 60, 62, Math.floor(rnd() * 256)]);
      return out;
    }
    case 2: {
      // two reports spliced
      const other = samples[Math.floor(rnd() * samples.length)]!;
      const a = Math.floor(rnd() * base.length);
      const b = Math.floor(rnd() * other.length);
      const out = new Uint8Array(a + other.length - b);
      out.set(base.subarray(0, a));
      out.set(other.subarray(b), a);
      return out;
    }
    case 3:
      return enc.encode(`From: MAILER-DAEMON@mx.example.org\r\nMessage-ID: <f${i}@x>\r\n${randomTree(rnd, 0)}`);
    case 4: {
      const out = new Uint8Array(Math.floor(rnd() * 4096));
      for (let k = 0; k < out.length; k++) out[k] = Math.floor(rnd() * 256);
      return out;
    }
    default: {
      // a real report with a line repeated many times in its middle
      const text = new TextDecoder().decode(base);
      const lines = text.split("\n");
      const at = Math.floor(rnd() * lines.length);
      lines.splice(at, 0, ...Array<string>(200 + Math.floor(rnd() * 2000)).fill(lines[at] ?? ""));
      return enc.encode(lines.join("\n"));
    }
  }
}

async function check(raw: Uint8Array, i: number, lookup: MemoryLookup): Promise<FeedbackReport> {
  const rcpt = i % 7 === 0 ? "bounces+tok@b.example" : i % 11 === 0 ? "unsubscribe+tok@b.example" : "fbl@b.example";
  const report = await parseFeedback(raw, { mailFrom: i % 2 ? "" : "x@y.example", rcptTo: [rcpt] });
  if (!KINDS.has(report.kind)) throw new Error(`message ${i}: kind ${String(report.kind)}`);
  const match = await matchReport(report, lookup);
  for (const e of feedbackEvents(report, match, { host: "fuzz", receivedAt: 0 })) {
    if (!EventInput.safeParse(e).success) throw new Error(`message ${i}: invalid event ${JSON.stringify(e).slice(0, 300)}`);
  }
  return report;
}

describe("parseFeedback on hostile input", () => {
  test("10,000 cut, flipped, spliced, random-tree and random-byte messages: no throw, valid events, bounded time", async () => {
    const rnd = mulberry32(0x5eed17);
    const sent = { queue_id: "Q1", message_id: "m@x", rcpt_to: "a@example.org" };
    const lookup = new MemoryLookup([sent], new Map([["tok", sent]]), new Map([["tok", sent]]));
    const kinds: Record<string, number> = {};
    let slowest = 0;
    const started = performance.now();
    for (let i = 0; i < 10_000; i++) {
      const raw = mutate(rnd, i);
      const t0 = performance.now();
      const r = await check(raw, i, lookup);
      slowest = Math.max(slowest, performance.now() - t0);
      kinds[r.kind] = (kinds[r.kind] ?? 0) + 1;
    }
    const total = performance.now() - started;
    // Every kind shows up: the mutations keep enough of the real reports to exercise each parser.
    expect(Object.keys(kinds).sort()).toEqual(["complaint", "dsn", "not_a_report", "plain_bounce", "unsubscribe"]);
    expect(slowest).toBeLessThan(2_000);
    expect(total).toBeLessThan(100_000);
  }, 180_000);

  test("pathological shapes stay bounded: a huge header, 100k recipients, deep nesting, a run of '<', 10k Received lines", async () => {
    const lookup = new MemoryLookup();
    const dsnOf = (status: string) =>
      `From: MAILER-DAEMON@x\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n${status}\r\n--b--\r\n`;
    const cases: [string, string][] = [
      ["huge header line", `Subject: ${"x".repeat(3_000_000)}\r\n\r\nbody`],
      ["100k recipients", dsnOf("Final-Recipient: rfc822; a@example.org\r\nAction: failed\r\n\r\n".repeat(100_000))],
      [
        "deep nesting",
        `${Array.from({ length: 300 }, (_, k) => `Content-Type: multipart/mixed; boundary="d${k}"\r\n\r\n--d${k}\r\n`).join("")}text`,
      ],
      ["a run of '<' in HTML", `From: MAILER-DAEMON@x\r\nContent-Type: text/html\r\n\r\n${"<".repeat(2_000_000)}`],
      [
        "10k Received",
        `${"Received: from a by mx.example.org with ESMTP id ABCDE12345;\r\n".repeat(10_000)}From: MAILER-DAEMON@x\r\n\r\nbody`,
      ],
      ["status digits", dsnOf(`Final-Recipient: rfc822; a@example.org\r\nStatus: ${"5.1.1.".repeat(50_000)}\r\n`)],
      [
        "long address run",
        `From: MAILER-DAEMON@x\r\nSubject: Undelivered\r\n\r\nThis is the qmail-send program\r\n<${"a@".repeat(100_000)}>:\r\n`,
      ],
    ];
    for (const [name, text] of cases) {
      const t0 = performance.now();
      const r = await check(enc.encode(text), 0, lookup);
      const ms = performance.now() - t0;
      expect({ name, kind: KINDS.has(r.kind), fast: ms < 5_000 }).toEqual({ name, kind: true, fast: true });
    }
    const many = await parseFeedback(enc.encode(cases[1]![1]), { mailFrom: "", rcptTo: [] });
    expect(many.kind === "dsn" && many.recipients.length).toBe(1000);
  }, 120_000);
});
