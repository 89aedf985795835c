import type { BounceClass } from "../events/schema.ts";

// What the feedback parsers find in one message. These are hookd's own shapes, built only by
// the parsers from bytes they have bounded and checked, so they are plain types; the zod
// boundary is the event schema the events built from them must pass.

/** The SMTP envelope the message arrived with (LMTP MAIL FROM / RCPT TO, or the pipe's). */
export interface Envelope {
  mailFrom: string;
  rcptTo: readonly string[];
}

/** The reporting message itself: what identifies it and dates it. */
export interface ReportMeta {
  messageId?: string;
  date?: string;
  from?: string;
  subject?: string;
  /** Stable key of the report (its Message-ID, Date and From, or a hash of the raw bytes). */
  key: string;
  size: number;
}

/** A queue id seen in the returned message: `id` on the MTA named `host` ("by host ... id QID"). */
export interface QueueIdHint {
  id: string;
  host?: string;
}

/** What the report returns of the original message (headers only; the body is never kept). */
export interface ReturnedMessage {
  messageId?: string;
  subject?: string;
  from?: string;
  to: string[];
  date?: string;
  queueIds: QueueIdHint[];
}

/** An address in the envelope that carries a token: the VERP bounce address or the unsubscribe address. */
export interface TokenAddress {
  address: string;
  token: string;
}

interface ReportBase {
  report: ReportMeta;
  /** The envelope recipients of the form bounces+<token>@…, unverified. */
  verp: TokenAddress[];
  original?: ReturnedMessage;
}

export type DsnAction = "failed" | "delayed" | "delivered" | "relayed" | "expanded";

export interface DsnRecipient {
  finalRecipient?: string;
  originalRecipient?: string;
  action: DsnAction | "unknown";
  /** Enhanced status code, e.g. "5.1.1" (comments and junk stripped). */
  status?: string;
  /** Diagnostic-Code text without its type ("550 5.1.1 user unknown"). */
  diagnostic?: string;
  diagnosticType?: string;
  remoteMta?: string;
  lastAttemptDate?: string;
}

export interface DsnReport extends ReportBase {
  kind: "dsn";
  reportingMta?: string;
  arrivalDate?: string;
  /** X-Postfix-Queue-ID of the DSN: the reporting MTA's queue id of the original message. */
  queueId?: string;
  recipients: DsnRecipient[];
}

export interface ComplaintReport extends ReportBase {
  kind: "complaint";
  feedbackType: string;
  userAgent?: string;
  version?: string;
  originalRcptTo: string[];
  originalMailFrom?: string;
  arrivalDate?: string;
  sourceIp?: string;
  reportedDomain: string[];
}

export interface UnsubscribeReport extends ReportBase {
  kind: "unsubscribe";
  /** The unsubscribe address the mail was sent to and its token (unverified). */
  address: string;
  token: string;
  /** Who sent the unsubscribe mail (its From, else the envelope sender). */
  sender?: string;
}

export interface PlainBounceRecipient {
  rcpt: string;
  action: "failed" | "delayed";
  reason?: string;
  dsn?: string;
  bounceClass: BounceClass;
}

export interface PlainBounceReport extends ReportBase {
  kind: "plain_bounce";
  /** The name of the row of the pattern table that read it. */
  pattern: string;
  recipients: PlainBounceRecipient[];
}

export interface NotAReport {
  kind: "not_a_report";
  reason: string;
  report: ReportMeta;
  verp: TokenAddress[];
}

export type FeedbackReport = DsnReport | ComplaintReport | UnsubscribeReport | PlainBounceReport | NotAReport;
export type FeedbackKind = FeedbackReport["kind"];
