import type { BounceClass } from "./schema.ts";
import { findDsn, findSmtpCode } from "./smtp-reply.ts";

// Why a delivery failed, from its DSN, SMTP code and reply text: one table for every source
// of events (MTA logs, bounce mail, events posted to the API without a bounce_class).

/** What a failure is classified from. `text` is the reply or the MTA's reason, as logged. */
export interface FailureInfo {
  dsn?: string;
  code?: number;
  text?: string;
}

/** The facts a rule looks at; `text` is lower-cased. */
export interface FailureFacts {
  dsn: string;
  code: number;
  text: string;
}

/**
 * One row of the table: the class applies when any of its tests hits. Plain substrings
 * (`words`) are preferred over regexes: they read as what they are and cost little per event.
 */
export interface BounceRule {
  class: BounceClass;
  dsn?: readonly string[];
  dsnPrefix?: readonly string[];
  words?: readonly string[];
  pattern?: RegExp;
  test?: (f: FailureFacts) => boolean;
}

/**
 * First match wins, so the specific reasons come before the generic "5xx = hard". To teach
 * hookd a new reply, add words (or a row) where it belongs; classify.test.ts has a case per row.
 */
export const BOUNCE_RULES: readonly BounceRule[] = [
  {
    class: "quota",
    dsn: ["4.2.2", "5.2.2"],
    words: [
      "mailbox full",
      "mailbox is full",
      "quota",
      "insufficient storage",
      "insufficient system storage",
      "storage limit",
      "mailbox size limit",
    ],
  },
  {
    class: "unknown_user",
    dsn: ["5.1.1", "5.1.0", "5.1.6", "4.1.1"],
    words: [
      "user unknown",
      "unknown user",
      "no such user",
      "no such mailbox",
      "no such recipient",
      "mailbox not found",
      "mailbox unknown",
      "does not exist",
      "recipient not found",
      "recipient unknown",
      "address not found",
      "address unknown",
      "invalid recipient",
      "invalid address",
      "invalid mailbox",
      "no mailbox",
      "unknown local part",
      "unknown recipient",
      "recipient refused",
      "account disabled",
      "account has been disabled",
      "user doesn't have",
    ],
  },
  {
    class: "unknown_domain",
    dsn: ["5.1.2", "4.1.2", "5.4.4", "4.4.4"],
    words: [
      "domain not found",
      "host or domain name not found",
      "name service error",
      "no mx",
      "unrouteable",
      "unroutable",
      "can't route",
      "nxdomain",
    ],
  },
  {
    // Before spam: a DNSBL reply often says "spam" too, but the block list is the reason.
    class: "block",
    words: [
      "blocked using",
      "blocklist",
      "block list",
      "blacklist",
      "black list",
      "denylist",
      "deny list",
      "dnsbl",
      "spamhaus",
      "spamcop",
      "barracuda",
      "client host rejected",
      "connection not authorized",
      "refused to talk to me",
      "is blocked",
      "banned",
    ],
    pattern: /\brbl\b|listed (?:at|in|on|by)\b/,
  },
  {
    class: "spam",
    words: ["spam", "unsolicited", "bulk mail", "suspicious", "low reputation", "reputation of the sending", "junk mail", "phish"],
    pattern: /\bspm\b/,
  },
  {
    class: "auth",
    dsn: ["5.7.8", "5.7.23", "5.7.24", "5.7.25", "5.7.26", "5.7.27"],
    words: ["authenticat", "spf", "dkim", "dmarc", "not owned by user"],
  },
  {
    class: "content",
    dsn: ["5.3.4", "5.2.3"],
    words: [
      "virus",
      "infected",
      "malware",
      "message size",
      "message too big",
      "message too large",
      "size exceeds",
      "message content",
      "attachment",
      "banned file",
    ],
  },
  {
    class: "policy",
    dsnPrefix: ["5.7.", "4.7."],
    words: [
      "policy",
      "relay access denied",
      "relay not permitted",
      "relaying denied",
      "not permitted",
      "greylist",
      "administrative prohibition",
      "rejected",
      "prohibited",
      "rate limit",
      "too many",
    ],
  },
  {
    class: "network",
    dsnPrefix: ["4.4."],
    words: [
      "connection refused",
      "timed out",
      "lost connection",
      "network unreachable",
      "network is unreachable",
      "no route to host",
      "connection reset",
      "tls",
      "certificate",
      "handshake",
      "server dropped connection",
      "network error",
      "loops back to myself",
    ],
  },
  { class: "hard", test: (f) => f.dsn.startsWith("5.") || (f.code >= 500 && f.code < 600) },
  { class: "soft", test: (f) => f.dsn.startsWith("4.") || (f.code >= 400 && f.code < 500) },
];

function matches(rule: BounceRule, f: FailureFacts): boolean {
  if (rule.dsn?.includes(f.dsn)) return true;
  if (rule.dsnPrefix?.some((p) => f.dsn.startsWith(p))) return true;
  if (rule.words?.some((w) => f.text.includes(w))) return true;
  if (rule.pattern?.test(f.text)) return true;
  return rule.test?.(f) ?? false;
}

/**
 * Why a delivery failed. The dsn= field is preferred; when it is a catch-all ("5.0.0", which
 * Postfix writes for replies without one) the enhanced code inside the reply text is used.
 */
export function classifyBounce(info: FailureInfo, rules: readonly BounceRule[] = BOUNCE_RULES): BounceClass {
  const raw = info.text ?? "";
  let dsn = info.dsn ?? "";
  if (dsn === "" || dsn === "5.0.0" || dsn === "4.0.0") dsn = findDsn(raw) ?? dsn;
  const facts: FailureFacts = { dsn, code: info.code ?? findSmtpCode(raw) ?? 0, text: raw.toLowerCase() };
  for (const rule of rules) if (matches(rule, facts)) return rule.class;
  return "undetermined";
}

// Replies repeat with only the recipient's address or the peer's IP changed ("550 5.1.1
// <x@example.org>: user unknown"); classifying each anew walked the whole table (~5 µs, the
// costliest step of a busy log's events). Replies are classified with addresses and IPs
// masked, and the class remembered per masked reply.
const MEMO_MAX = 4096;
const memo = new Map<string, BounceClass>();

/** classifyBounce of the reply with its addresses and IP literals masked, remembered. */
export function classifyReply(dsn: string | undefined, text: string | undefined): BounceClass {
  const shape = text === undefined ? "" : maskReply(text);
  const key = dsn === undefined ? shape : `${dsn}\x1f${shape}`;
  let cls = memo.get(key);
  if (cls === undefined) {
    cls = classifyBounce({ dsn, text: text === undefined ? undefined : shape });
    if (memo.size >= MEMO_MAX) memo.clear();
    memo.set(key, cls);
  }
  return cls;
}

/** "<a@b>" → "<>" and "[192.0.2.1]" → "[]": the parts of a reply that name this message's peers. */
export function maskReply(text: string): string {
  let out = "";
  let from = 0;
  let lt = text.indexOf("<");
  let sq = text.indexOf("[");
  while (lt !== -1 || sq !== -1) {
    const angle = lt !== -1 && (sq === -1 || lt < sq);
    const open = angle ? lt : sq;
    const close = text.indexOf(angle ? ">" : "]", open + 1);
    if (close === -1) break;
    if (angle ? text.lastIndexOf("@", close) > open : isIpLiteral(text, open + 1, close)) {
      out += text.slice(from, open + 1);
      from = close;
    }
    if (lt !== -1 && lt <= close) lt = text.indexOf("<", close + 1);
    if (sq !== -1 && sq <= close) sq = text.indexOf("[", close + 1);
  }
  return from === 0 ? text : out + text.slice(from);
}

function isIpLiteral(s: string, start: number, end: number): boolean {
  if (end === start) return false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    // digits, '.', ':', hex letters (IPv6), "IPv6:" prefix letters
    if (!((c >= 48 && c <= 58) || c === 46 || (c >= 97 && c <= 102) || (c >= 65 && c <= 70) || c === 73 || c === 80 || c === 118))
      return false;
  }
  return true;
}
