// Bounces that carry no RFC 3464 report — qmail, Exim without DSNs, old Exchange and Notes,
// Gmail's and Yahoo's older notices, OpenSMTPD — written as data. plain-bounce.ts applies the
// table: the first row that recognises the text and finds a recipient wins. To teach hookd a
// new format, add a row (specific rows before general ones) and a fixture under
// test/fixtures/feedback with a case in test/feedback/patterns.test.ts.
//
// Each regex runs on one line (cut to 512 characters) and is anchored, with character classes
// that exclude what follows them, so a hostile line cannot make it backtrack more than once
// over its length.

export interface BouncePattern {
  name: string;
  /** The text is this kind of bounce when it contains one of these (lower-case) phrases; absent: any bounce. */
  detect?: readonly string[];
  /** Recipients are read only after the first line containing one of these (lower-case). */
  after?: readonly string[];
  /** A recipient line: group 1 is the address; group 2, when present, starts the reason. No `g` flag (test() would keep state). */
  recipient?: RegExp;
  /** Or: the recipients are this header's addresses (X-Failed-Recipients). */
  recipientHeader?: string;
  /**
   * Where the reason is: "after" the recipient line (its lines up to a blank line or the next
   * recipient), in the "paragraph" after it, "before" it (Notes), or after the first line
   * containing one of `reasonAfter`.
   */
  reason: "after" | "paragraph" | "before" | "phrase";
  reasonAfter?: readonly string[];
  /** "delayed" for warnings that the MTA is still trying (→ delay events); default "failed". */
  action?: "failed" | "delayed";
}

/** `<user@example.org>: reason…` — qmail, Yahoo, and Postfix's own text. */
const ANGLE_COLON = /^<([^<>\s]+@[^<>\s]+)>:[ \t]*(.*)$/;
/** Postfix: `<user@example.org> (expanded from <alias@example.org>): reason…`, the parenthesis maybe wrapped. */
const POSTFIX = /^<([^<>\s]+@[^<>\s]+)>(?: \(expanded from(?: <[^<>\s]*>\))?)?:?[ \t]*(.*)$/;
/** An address alone on its line, indented, maybe quoted or followed by a colon (Exim, GMX, Gmail). */
const INDENTED_ALONE = /^[ \t]{0,12}"?([^\s"<>@]+@[^\s"<>:@]+)"?:?[ \t]*$/;
/** An address alone at the start of its line, maybe followed by <mailto:…> (Exchange, Notes). */
const ALONE = /^([^\s"<>@]+@[^\s"<>@]+?)(?:<mailto:[^<>\s]*>)?[ \t]*$/;

export const BOUNCE_PATTERNS: readonly BouncePattern[] = [
  {
    name: "qmail",
    detect: ["this is the qmail-send program", "i'm afraid i wasn't able to deliver your message"],
    recipient: ANGLE_COLON,
    reason: "after",
  },
  {
    name: "yahoo",
    detect: ["sorry, we were unable to deliver your message to the following address"],
    recipient: ANGLE_COLON,
    reason: "after",
  },
  {
    name: "postfix",
    detect: ["this is the mail system at host", "this is the postfix program", "the mail system"],
    recipient: POSTFIX,
    reason: "after",
  },
  {
    name: "exim-delay",
    detect: ["has not yet been delivered to one or more of its"],
    after: ["not yet been delivered is:", "not yet been delivered are:"],
    recipient: INDENTED_ALONE,
    reason: "after",
    action: "delayed",
  },
  {
    name: "exim",
    detect: ["the following address(es) failed", "the following address failed", "could not be delivered to one or more of"],
    after: [
      "the following address(es) failed",
      "the following address failed",
      "following address",
      "could not be delivered to one or more of",
    ],
    recipient: INDENTED_ALONE,
    reason: "after",
  },
  {
    name: "sendmail",
    detect: ["the following addresses had permanent fatal errors", "the following addresses had delivery problems"],
    after: ["the following addresses had"],
    recipient: /^<([^<>\s]+@[^<>\s]+)>[ \t]*(.*)$/,
    reason: "after",
  },
  {
    name: "exchange-ims",
    detect: ["did not reach the following recipient"],
    after: ["did not reach the following recipient"],
    recipient: /^[ \t]*([^\s"<>@]+@[^\s"<>@]+) on [^\n]*$/,
    reason: "after",
  },
  {
    name: "exchange",
    detect: ["delivery has failed to these recipients or", "your message to", "couldn't be delivered"],
    after: ["diagnostic information for administrators"],
    recipient: ALONE,
    reason: "after",
  },
  {
    name: "gmail",
    detect: ["delivery to the following recipient failed permanently", "delivery to the following recipients failed permanently"],
    after: ["delivery to the following recipient"],
    recipient: INDENTED_ALONE,
    reason: "phrase",
    reasonAfter: ["the error that the other server returned was", "technical details of permanent failure"],
  },
  {
    name: "gmail-delay",
    detect: ["delivery to the following recipient has been delayed", "delivery to the following recipients has been delayed"],
    after: ["delivery to the following recipient"],
    recipient: INDENTED_ALONE,
    reason: "phrase",
    reasonAfter: ["the error that the other server returned was", "technical details of temporary failure"],
    action: "delayed",
  },
  {
    name: "dragonfly",
    detect: ["this is the dragonfly mail agent"],
    recipient: /^There was an error delivering your mail to <([^<>\s]+@[^<>\s]+)>/i,
    reason: "paragraph",
  },
  {
    name: "opensmtpd",
    detect: ["this is the mailer-daemon, please do not reply"],
    after: ["list of recipients"],
    recipient: /^([^\s"<>@]+@[^\s"<>:@]+):[ \t]*(.*)$/,
    reason: "after",
  },
  {
    name: "domino",
    detect: ["was not delivered to:"],
    after: ["was not delivered to:"],
    recipient: INDENTED_ALONE,
    reason: "phrase",
    reasonAfter: ["because:"],
  },
  {
    name: "notes",
    detect: ["------- failure reasons"],
    after: ["------- failure reasons"],
    recipient: ALONE,
    reason: "before",
  },
  {
    // Last: any bounce that names its failed recipients in a header (Exim, Gmail, Mail.ru, …);
    // the reason is the first line that reads like an SMTP reply.
    name: "x-failed-recipients",
    recipientHeader: "x-failed-recipients",
    reason: "phrase",
    reasonAfter: [],
  },
];

/**
 * Lines that start the returned copy of the original message (lower-case, compared with the
 * start of a trimmed line). Recipients are only looked for above it; its headers are read.
 */
export const RETURNED_MARKERS: readonly string[] = [
  "--- below this line is a copy of the message",
  "------ this is a copy of the message",
  "------ this is a copy of your message",
  "----- original message -----",
  "----- original message follows -----",
  "------ original message follows ------",
  "original message headers:",
  "below is a copy of the original message",
  "------- returned message --------",
  "--- the header of the original message is following",
  "message headers follow",
];

/** Senders and subjects that mark mail as a delivery failure notice at all. */
export const BOUNCE_SENDERS: readonly string[] = ["mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon", "bounce", "noreply-dmarc"];
export const BOUNCE_SUBJECT = new RegExp(
  [
    "undeliver",
    "delivery (?:status notification|failure|failed|has failed|notification)",
    "returned mail",
    "failure notice",
    "mail delivery failed",
    "non-?delivery",
    "could not be delivered",
    "not delivered",
    "delivery problem",
    "mail failure",
    "returning message to sender",
  ].join("|"),
  "i",
);
