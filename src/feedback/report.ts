import { parseArf } from "./arf.ts";
import { DSN_PART_TYPES, parseDsn } from "./dsn.ts";
import { emailIn, first, isoDate, messageIdOf } from "./fields.ts";
import { DEFAULT_READ_LIMITS, type Mail, type ReadLimits, readMail } from "./mail.ts";
import { BOUNCE_PATTERNS, type BouncePattern } from "./patterns.ts";
import { looksLikeBounce, parsePlainBounce } from "./plain-bounce.ts";
import type { Envelope, FeedbackReport, NotAReport, ReportMeta, TokenAddress } from "./types.ts";
import { type AddressForms, DEFAULT_FORMS, parseUnsubscribe, tokenAddresses } from "./unsubscribe.ts";

// The one entry: a raw message and its envelope in, a FeedbackReport out. The kinds are tried
// from the most to the least structured: an ARF feedback report, an RFC 3464 DSN, mail to the
// unsubscribe address, a bounce the pattern table can read; anything else is not_a_report with
// the reason. It never throws and reads at most limits.maxBytes of any input.

export interface ParseOptions {
  forms?: AddressForms;
  limits?: ReadLimits;
  patterns?: readonly BouncePattern[];
}

export async function parseFeedback(raw: Uint8Array, given: Envelope, options: ParseOptions = {}): Promise<FeedbackReport> {
  const limits = options.limits ?? DEFAULT_READ_LIMITS;
  const envelope = cleanEnvelope(given);
  let verp: TokenAddress[] = [];
  try {
    verp = safeVerp(envelope, options.forms ?? DEFAULT_FORMS);
    if (raw.byteLength === 0) return notAReport("empty message", reportMeta(undefined, raw), verp);
    const read = await readMail(raw, limits);
    if (!read.ok) return notAReport(read.reason, reportMeta(undefined, raw), verp);
    return reportFromMail(read.mail, raw, envelope, options);
  } catch (err) {
    // A bug here must cost one report, never the intake: the report is kept as unparsed.
    return notAReport(`parser failure: ${err instanceof Error ? err.name : "unknown"}`, rawMeta(raw), verp);
  }
}

/** The report in a message already read (the LMTP intake reads once, reports per recipient). */
export function reportFromMail(mail: Mail, raw: Uint8Array, given: Envelope, options: ParseOptions = {}): FeedbackReport {
  const envelope = cleanEnvelope(given);
  const forms = options.forms ?? DEFAULT_FORMS;
  const meta = reportMeta(mail, raw);
  const verp = safeVerp(envelope, forms);
  const found =
    parseArf(mail, meta, verp) ??
    parseDsn(mail, meta, verp) ??
    parseUnsubscribe(mail, envelope, meta, verp, forms) ??
    parsePlainBounce(mail, envelope, meta, verp, options.patterns ?? BOUNCE_PATTERNS);
  if (found) return found;
  if (mail.parts.some((p) => DSN_PART_TYPES.includes(p.type))) return notAReport("delivery report without a recipient", meta, verp);
  if (looksLikeBounce(mail, envelope, verp)) return notAReport("bounce in a format no pattern reads", meta, verp);
  return notAReport("not a bounce, complaint or unsubscribe mail", meta, verp);
}

/** What identifies the reporting message: its Message-ID, Date and From, else the hash of its bytes. */
export function reportMeta(mail: Mail | undefined, raw: Uint8Array): ReportMeta {
  if (!mail) return rawMeta(raw);
  const meta: ReportMeta = { key: "", size: raw.byteLength };
  const mid = messageIdOf(first(mail.headers, "message-id"));
  if (mid) meta.messageId = mid;
  const date = isoDate(first(mail.headers, "date"));
  if (date) meta.date = date;
  const from = emailIn(first(mail.headers, "from"));
  if (from) meta.from = from;
  if (mail.subject) meta.subject = mail.subject;
  meta.key = mid ? sha256(`mid\x1f${mid}\x1f${first(mail.headers, "date") ?? ""}\x1f${first(mail.headers, "from") ?? ""}`) : sha256(raw);
  return meta;
}

function rawMeta(raw: Uint8Array): ReportMeta {
  return { key: sha256(raw), size: raw.byteLength };
}

function notAReport(reason: string, report: ReportMeta, verp: TokenAddress[]): NotAReport {
  return { kind: "not_a_report", reason, report, verp };
}

/** The envelope with only string values: it comes from a network peer or a command line. */
function cleanEnvelope(e: Envelope | undefined): Envelope {
  const rcpts: unknown = e?.rcptTo;
  return {
    mailFrom: typeof e?.mailFrom === "string" ? e.mailFrom : "",
    rcptTo: Array.isArray(rcpts) ? rcpts.filter((r): r is string => typeof r === "string").slice(0, 1000) : [],
  };
}

function safeVerp(envelope: Envelope, forms: AddressForms): TokenAddress[] {
  return tokenAddresses(envelope.rcptTo, forms.verpPrefix, forms.domain);
}

function sha256(data: string | Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(data).digest("hex").slice(0, 32);
}
