import { classifyBounce } from "../events/bounce-class.ts";
import { collapse, emailIn, emailsIn, first, lines, statusCode } from "./fields.ts";
import type { Mail } from "./mail.ts";
import { BOUNCE_PATTERNS, BOUNCE_SENDERS, BOUNCE_SUBJECT, type BouncePattern, RETURNED_MARKERS } from "./patterns.ts";
import { returnedFromHeaders, returnedFromParts } from "./returned.ts";
import type { Envelope, PlainBounceRecipient, PlainBounceReport, ReportMeta, ReturnedMessage, TokenAddress } from "./types.ts";

// Applies the pattern table (patterns.ts) to a bounce without a delivery-status part. Only
// mail that presents itself as a delivery failure notice is read — a null or daemon sender, a
// VERP recipient, X-Failed-Recipients, or a bounce-like Subject — so that an auto-reply or a
// person's mail to the bounce address is never taken for a bounce.

const MAX_LINES = 3000;
const MAX_LINE = 512;
const MAX_RECIPIENTS = 100;
const MAX_REASON_LINES = 8;
const SMTP_REPLY = /(?:^|[\s:'"#(])[45]\d\d[\s-]|(?:^|[\s#(])[45]\.\d{1,3}\.\d{1,3}(?:$|[\s),;:])/;

export function parsePlainBounce(
  mail: Mail,
  envelope: Envelope,
  report: ReportMeta,
  verp: TokenAddress[],
  patterns: readonly BouncePattern[] = BOUNCE_PATTERNS,
): PlainBounceReport | undefined {
  if (!looksLikeBounce(mail, envelope, verp)) return undefined;
  const all = lines(mail.text)
    .slice(0, MAX_LINES)
    .map((l) => (l.length > MAX_LINE ? l.slice(0, MAX_LINE) : l));
  const end = all.findIndex((l) => {
    const t = l.trim().toLowerCase();
    return t.length > 0 && RETURNED_MARKERS.some((m) => t.startsWith(m));
  });
  const body = end === -1 ? all : all.slice(0, end);
  const lower = body.join("\n").toLowerCase();
  for (const p of patterns) {
    if (p.detect && !p.detect.some((d) => lower.includes(d))) continue;
    const recipients = readRecipients(p, body, mail);
    if (recipients.length === 0) continue;
    const r: PlainBounceReport = { kind: "plain_bounce", report, verp, pattern: p.name, recipients };
    const original: ReturnedMessage | undefined =
      returnedFromParts(mail.parts) ?? (end === -1 ? undefined : returnedFromHeaders(all.slice(end + 1, end + 400).join("\n")));
    if (original) r.original = original;
    return r;
  }
  return undefined;
}

/** Whether a message presents itself as a delivery failure notice (not: what it says). */
export function looksLikeBounce(mail: Mail, envelope: Envelope, verp: readonly TokenAddress[]): boolean {
  if (verp.length > 0) return true;
  const sender = envelope.mailFrom.trim().replace(/^<|>$/g, "").toLowerCase();
  if (sender === "" || sender.startsWith("mailer-daemon")) return true;
  if (first(mail.headers, "x-failed-recipients")) return true;
  const from = (emailIn(first(mail.headers, "from")) ?? "").toLowerCase();
  if (BOUNCE_SENDERS.some((s) => from.startsWith(s))) return true;
  return BOUNCE_SUBJECT.test(mail.subject ?? "");
}

function readRecipients(p: BouncePattern, body: readonly string[], mail: Mail): PlainBounceRecipient[] {
  let start = 0;
  if (p.after) {
    const i = body.findIndex((l) => {
      const t = l.toLowerCase();
      return p.after!.some((a) => t.includes(a));
    });
    if (i === -1) return [];
    start = i + 1;
  }
  const found: { rcpt: string; reason: string }[] = [];
  const add = (rcpt: string | undefined, reason: string) => {
    if (rcpt && found.length < MAX_RECIPIENTS && !found.some((f) => f.rcpt.toLowerCase() === rcpt.toLowerCase()))
      found.push({ rcpt, reason });
  };
  if (p.recipientHeader) {
    const reason = replyLine(body, start);
    for (const rcpt of emailsIn(first(mail.headers, p.recipientHeader), MAX_RECIPIENTS)) add(rcpt, reason);
  } else if (p.recipient) {
    const re = p.recipient;
    const isRecipient = (l: string) => re.test(l);
    for (let i = start; i < body.length && found.length < MAX_RECIPIENTS; i++) {
      const m = re.exec(body[i]!);
      if (m) add(emailIn(m[1]), reasonOf(p, body, i, m[2], start, isRecipient));
    }
  }
  return found.map(({ rcpt, reason }) => {
    const text = collapse(reason, 1000);
    const dsn = statusCode(text);
    const r: PlainBounceRecipient = { rcpt, action: p.action ?? "failed", bounceClass: classifyBounce({ dsn, text }) };
    if (text) r.reason = text;
    if (dsn) r.dsn = dsn;
    return r;
  });
}

/** The reason for the recipient on line `i`; `sameLine` is what its line has after the address. */
function reasonOf(
  p: BouncePattern,
  body: readonly string[],
  i: number,
  sameLine: string | undefined,
  start: number,
  isRecipient: (l: string) => boolean,
): string {
  switch (p.reason) {
    case "after":
      return [sameLine ?? "", ...following(body, i + 1, isRecipient)].join(" ");
    case "paragraph":
      return following(body, skipBlank(body, i + 1), isRecipient).join(" ");
    case "before":
      return preceding(body, i - 1, start, isRecipient).join(" ");
    case "phrase":
      return phrase(body, start, p.reasonAfter ?? []);
  }
}

/** Lines from `i` up to a blank line or the next recipient line. */
function following(body: readonly string[], i: number, isRecipient: (l: string) => boolean): string[] {
  const out: string[] = [];
  for (let j = i; j < body.length && out.length < MAX_REASON_LINES; j++) {
    const l = body[j]!;
    if (l.trim() === "" || isRecipient(l)) break;
    out.push(l.trim());
  }
  return out;
}

/** Lines before `i` back to a blank line, the previous recipient line or `start`, in order. */
function preceding(body: readonly string[], i: number, start: number, isRecipient: (l: string) => boolean): string[] {
  const out: string[] = [];
  for (let j = i; j >= start && out.length < MAX_REASON_LINES; j--) {
    const l = body[j]!;
    if (l.trim() === "" || isRecipient(l)) break;
    out.unshift(l.trim());
  }
  return out;
}

/** The text after the first of `phrases` found (in their order of preference), up to a blank line. */
function phrase(body: readonly string[], start: number, phrases: readonly string[]): string {
  for (const ph of phrases) {
    const i = body.findIndex((l, j) => j >= start && l.toLowerCase().includes(ph));
    if (i === -1) continue;
    const line = body[i]!;
    const rest = line.slice(line.toLowerCase().indexOf(ph) + ph.length).replace(/^[\s:]+/, "");
    const text = [rest, ...following(body, rest === "" ? skipBlank(body, i + 1) : i + 1, () => false)].join(" ").trim();
    if (text) return text;
  }
  return "";
}

function skipBlank(body: readonly string[], i: number): number {
  let j = i;
  while (j < body.length && body[j]!.trim() === "") j++;
  return j;
}

/** The first line from `start` that reads like an SMTP reply, with the indented lines after it. */
function replyLine(body: readonly string[], start: number): string {
  for (let i = start; i < body.length; i++) {
    if (SMTP_REPLY.test(body[i]!)) return [body[i]!.trim(), ...following(body, i + 1, (l) => !/^\s/.test(l))].join(" ");
  }
  return "";
}
