import type { BounceClass } from "../events/schema.ts";
import { findDsn, findSmtpCode } from "./parse/fields.ts";

/** What a failure is classified from. `text` is the reply or the MTA's reason, as logged. */
export interface FailureInfo {
  dsn?: string;
  code?: number;
  text?: string;
}

interface Facts {
  dsn: string;
  code: number;
  /** Lower-cased reply text. */
  text: string;
}

export interface BounceRule {
  class: BounceClass;
  test: (f: Facts) => boolean;
}

const has = (re: RegExp) => (f: Facts) => re.test(f.text);
const dsnIs = (...codes: string[]) => (f: Facts) => codes.includes(f.dsn);

/**
 * First match wins, so the specific reasons come before the generic "5xx = hard". To teach
 * hookd a new reply, add a rule where it belongs; classify.test.ts has a case per rule.
 */
export const BOUNCE_RULES: readonly BounceRule[] = [
  { class: "quota", test: (f) => dsnIs("4.2.2", "5.2.2")(f) || has(/mailbox (?:is )?full|quota|over ?quota|insufficient (?:system )?storage|storage limit|mailbox size limit/)(f) },
  { class: "unknown_user", test: (f) => dsnIs("5.1.1", "5.1.0", "5.1.6", "4.1.1")(f) || has(/user unknown|unknown user|no such (?:user|mailbox|recipient)|(?:mailbox|recipient|address) (?:not found|unknown|does not exist)|does not exist|invalid (?:recipient|address|mailbox)|recipient unknown|no mailbox|unknown (?:local part|recipient)|recipient refused|account (?:has been )?disabled|user doesn't have/)(f) },
  { class: "unknown_domain", test: (f) => dsnIs("5.1.2", "4.1.2", "5.4.4", "4.4.4")(f) || has(/domain not found|host or domain name not found|name service error|no mx|unrouteable|unroutable|can't route|domain (?:does not exist|not exist)|nxdomain/)(f) },
  { class: "block", test: has(/blocked using|block ?list|black ?list|deny ?list|dnsbl|\brbl\b|listed (?:at|in|on|by)|spamhaus|spamcop|barracuda|client host rejected|connection not authorized|refused to talk to me|ip (?:address )?(?:is )?blocked|banned/) },
  { class: "spam", test: has(/spam(?!haus|cop)|unsolicited|\bspm\b|bulk mail|suspicious|low reputation|reputation of the sending|junk mail|phish/) },
  { class: "auth", test: (f) => dsnIs("5.7.8", "5.7.23", "5.7.24", "5.7.25", "5.7.26", "5.7.27")(f) || has(/authenticat|\bspf\b|dkim|dmarc|not owned by user/)(f) },
  { class: "content", test: (f) => dsnIs("5.3.4", "5.2.3")(f) || has(/virus|infected|malware|message (?:size|too big|too large)|size exceeds|message content|attachment|banned file/)(f) },
  { class: "policy", test: (f) => /^[45]\.7\./.test(f.dsn) || has(/policy|relay access denied|relay not permitted|relaying denied|not permitted|greylist|administrative prohibition|rejected|prohibited|rate limit|too many/)(f) },
  { class: "network", test: (f) => /^4\.4\./.test(f.dsn) || has(/connection refused|timed out|lost connection|network (?:is )?unreachable|no route to host|connection reset|tls|certificate|handshake|server dropped connection|network error|loops back to myself/)(f) },
  { class: "hard", test: (f) => f.dsn.startsWith("5.") || (f.code >= 500 && f.code < 600) },
  { class: "soft", test: (f) => f.dsn.startsWith("4.") || (f.code >= 400 && f.code < 500) },
];

/**
 * Why a delivery failed. The dsn= field is preferred; when it is a catch-all ("5.0.0", which
 * Postfix writes for replies without one) the enhanced code inside the reply text is used.
 */
export function classifyBounce(info: FailureInfo, rules: readonly BounceRule[] = BOUNCE_RULES): BounceClass {
  const text = (info.text ?? "").toLowerCase();
  let dsn = info.dsn ?? "";
  if (dsn === "" || /^[45]\.0\.0$/.test(dsn)) dsn = findDsn(info.text ?? "") ?? dsn;
  const facts: Facts = { dsn, code: info.code ?? findSmtpCode(info.text ?? "") ?? 0, text };
  for (const rule of rules) if (rule.test(facts)) return rule.class;
  return "undetermined";
}
