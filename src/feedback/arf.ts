import { all, emailIn, fieldGroups, first, headerFields, isoDate } from "./fields.ts";
import type { Mail } from "./mail.ts";
import { returnedFromParts } from "./returned.ts";
import type { ComplaintReport, NotAReport, ReportMeta, TokenAddress } from "./types.ts";

// RFC 5965 feedback reports (ARF): a message/feedback-report part — one group of fields — and
// the original message or its headers. Also Microsoft's older JMRP format, still sent by
// Outlook.com's feedback loop: a multipart/mixed carrying only the original message, whose
// X-HmXmrOriginalRecipient header names the complainant.

const MAX_RCPTS = 100;

/**
 * The complaint in a message: a ComplaintReport, a NotAReport when it has a feedback-report part
 * that cannot be read (no Feedback-Type), or undefined when it is no feedback report at all.
 */
export function parseArf(mail: Mail, report: ReportMeta, verp: TokenAddress[]): ComplaintReport | NotAReport | undefined {
  const part = mail.parts.find((p) => p.type === "message/feedback-report");
  if (!part) return parseJmrp(mail, report, verp);
  const fields = fieldGroups(part.text).flat();
  const feedbackType = first(fields, "feedback-type")
    ?.toLowerCase()
    .split(/[\s;(]/)[0];
  if (!feedbackType) return { kind: "not_a_report", reason: "feedback report without Feedback-Type", report, verp };
  const c: ComplaintReport = {
    kind: "complaint",
    report,
    verp,
    feedbackType: feedbackType.slice(0, 64),
    originalRcptTo: addresses(all(fields, "original-rcpt-to")),
    reportedDomain: all(fields, "reported-domain")
      .map((d) => d.toLowerCase().slice(0, 255))
      .slice(0, 20),
  };
  const ua = first(fields, "user-agent");
  if (ua) c.userAgent = ua.slice(0, 255);
  const version = first(fields, "version");
  if (version) c.version = version.slice(0, 16);
  const mailFrom = emailIn(first(fields, "original-mail-from"));
  if (mailFrom) c.originalMailFrom = mailFrom;
  // Received-Date: the name drafts of ARF used, still written by Yahoo and others.
  const arrival = isoDate(first(fields, "arrival-date") ?? first(fields, "received-date"));
  if (arrival) c.arrivalDate = arrival;
  const ip = first(fields, "source-ip");
  if (ip && /^[0-9A-Fa-f:.]{2,64}$/.test(ip)) c.sourceIp = ip;
  const original = returnedFromParts(mail.parts);
  if (original) c.original = original;
  return c;
}

function parseJmrp(mail: Mail, report: ReportMeta, verp: TokenAddress[]): ComplaintReport | undefined {
  const part = mail.parts.find((p) => p.type === "message/rfc822");
  if (!part) return undefined;
  const rcpt = emailIn(first(headerFields(part.text), "x-hmxmroriginalrecipient"));
  if (!rcpt) return undefined;
  const c: ComplaintReport = {
    kind: "complaint",
    report,
    verp,
    feedbackType: "abuse",
    userAgent: "Microsoft-JMRP",
    originalRcptTo: [rcpt],
    reportedDomain: [],
  };
  const original = returnedFromParts(mail.parts);
  if (original) c.original = original;
  return c;
}

function addresses(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    const a = emailIn(v);
    if (a && !out.includes(a)) out.push(a);
    if (out.length >= MAX_RCPTS) break;
  }
  return out;
}
