import { type Field, all, emailIn, emailsIn, first, headerFields, isoDate, lines, messageIdOf } from "./fields.ts";
import { type MailPart, decoded } from "./mail.ts";
import type { QueueIdHint, ReturnedMessage } from "./types.ts";

// The original message as a report returns it: a message/rfc822 (or message/global) part,
// its headers alone (text/rfc822-headers), or pasted into the body after a marker line by the
// MTAs that write no MIME report. Only the headers are read: they say which message it was.

/** Part types that carry the original message or its headers (text/rfc822-header: a known misspelling). */
export const RETURNED_PART_TYPES: readonly string[] = [
  "message/rfc822",
  "message/global",
  "text/rfc822-headers",
  "text/rfc822-header",
  "message/rfc822-headers",
  "message/global-headers",
];

const MAX_QUEUE_IDS = 10;
// Postfix (hex or long ids), Exim (1P1ce6-000Egt-GZ), Sendmail (o91AFNQX000234): no dots, which
// also leaves out Exchange's "Microsoft SMTP Server id 8.2.234.1" and Google's dotted trace ids.
const RECEIVED_ID = /\bby\s+([A-Za-z0-9.-]+)[^;]*?\bid\s+<?([A-Za-z0-9-]{5,64})>?(?=[\s;>]|$)/i;

/** The returned message of a report's parts: the first such part whose headers say anything. */
export function returnedFromParts(parts: readonly MailPart[]): ReturnedMessage | undefined {
  for (const p of parts) {
    if (!RETURNED_PART_TYPES.includes(p.type)) continue;
    const r = returnedFromHeaders(p.text);
    if (r) return r;
  }
  return undefined;
}

/**
 * The message pasted into a bounce's text after one of `markers` (lower-cased line starts,
 * e.g. "--- below this line is a copy of the message"). Undefined when no marker is found.
 */
export function returnedFromText(text: string, markers: readonly string[]): ReturnedMessage | undefined {
  const at = markerLine(text, markers);
  return at === -1
    ? undefined
    : returnedFromHeaders(
        lines(text)
          .slice(at + 1, at + 400)
          .join("\n"),
      );
}

/** Index of the first line that starts with one of `markers` (compared lower-cased, trimmed); -1 if none. */
export function markerLine(text: string, markers: readonly string[]): number {
  const ls = lines(text);
  for (let i = 0; i < ls.length && i < 5000; i++) {
    const l = ls[i]!.trim().toLowerCase();
    if (l.length > 0 && markers.some((m) => l.startsWith(m))) return i;
  }
  return -1;
}

/** What a header block says of the message; undefined when it names nothing (no id, subject, address or route). */
export function returnedFromHeaders(text: string): ReturnedMessage | undefined {
  const fields = headerFields(text);
  const r: ReturnedMessage = { to: emailsIn(first(fields, "to")), queueIds: queueIdHints(fields) };
  const mid = messageIdOf(first(fields, "message-id"));
  if (mid) r.messageId = mid;
  const subject = decoded(first(fields, "subject"));
  if (subject) r.subject = subject.slice(0, 998);
  const from = emailIn(first(fields, "from"));
  if (from) r.from = from;
  const date = isoDate(first(fields, "date"));
  if (date) r.date = date;
  return r.messageId || r.subject || r.from || r.to.length > 0 || r.queueIds.length > 0 ? r : undefined;
}

/**
 * Queue ids of the original message: an X-Postfix-Queue-ID header, and "by HOST ... id QID" in
 * its Received headers, newest first. One of them is the sending MTA's; the store decides which.
 */
export function queueIdHints(fields: readonly Field[]): QueueIdHint[] {
  const out: QueueIdHint[] = [];
  const add = (h: QueueIdHint) => {
    if (out.length < MAX_QUEUE_IDS && !out.some((o) => o.id === h.id && o.host === h.host)) out.push(h);
  };
  for (const v of all(fields, "x-postfix-queue-id")) {
    const id = /^[A-Za-z0-9]{5,64}$/.exec(v.trim())?.[0];
    if (id) add({ id });
  }
  for (const v of all(fields, "received").slice(0, 30)) {
    const m = RECEIVED_ID.exec(v);
    if (m) add({ id: m[2]!, host: m[1]!.toLowerCase() });
  }
  return out;
}
