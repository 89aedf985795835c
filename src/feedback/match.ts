import type { FeedbackReport, QueueIdHint } from "./types.ts";

// Which message a report is about, in the order of how sure the answer is:
//   1. a token: the VERP envelope recipient (bounces+<token>@…) or the unsubscribe address
//      names the message and recipient exactly, once its HMAC verifies;
//   2. the returned Message-ID, looked up among stored events (narrowed by a queue id the
//      report also carries, when that leaves any);
//   3. a queue id alone (X-Postfix-Queue-ID, "Received: by HOST … id QID");
//   4. none: the events carry what the report says.
// The lookups are injected (FeedbackLookup): the store and track/tokens.ts implement them.
// A lookup that throws is not caught here: the intake answers 4xx and the MTA retries.

/** The original message as the store (or a token) knows it; one entry per recipient. */
export interface OriginalMessage {
  queue_id?: string;
  message_id?: string;
  rcpt_to?: string;
  mail_from?: string;
  /** The hookd host label of the events it was found in. */
  host?: string;
  campaign_id?: string;
  tags?: string[];
  metadata?: Record<string, string | number | boolean | null>;
}

export type MaybePromise<T> = T | Promise<T>;

export interface FeedbackLookup {
  /** The message and recipient a VERP token was issued for; null when it does not verify. */
  verifyVerpToken(token: string): MaybePromise<OriginalMessage | null>;
  /** The same for the token of an unsubscribe address (the List-Unsubscribe mailto). */
  verifyUnsubscribeToken(token: string): MaybePromise<OriginalMessage | null>;
  /** Stored messages with this Message-ID (angle brackets stripped), newest first, at most `limit`. */
  findByMessageId(messageId: string, limit: number): MaybePromise<OriginalMessage[]>;
  /** Stored messages with this queue id; `host` is the MTA the report names, a hint the store may use. */
  findByQueueId(queueId: string, host: string | undefined, limit: number): MaybePromise<OriginalMessage[]>;
}

export type MatchVia = "verp" | "unsubscribe_token" | "message_id" | "queue_id" | "none";

export interface MatchResult {
  via: MatchVia;
  candidates: OriginalMessage[];
  /** A token was there but did not verify (forged, altered, or signed by a retired key). */
  tokenRejected: boolean;
  /** A DSN written by one of our own MTAs: its bounce is in the MTA log, which gave the events. */
  own: boolean;
}

export interface MatchOptions {
  /** Whether a Reporting-MTA name is one of ours (Postfix's myhostname, Exim's primary_hostname). */
  isLocalMta?: (name: string) => boolean;
  /** Candidates asked of the store per lookup. */
  limit?: number;
}

const MAX_TOKENS = 5;
const MAX_QUEUE_LOOKUPS = 6;

export async function matchReport(report: FeedbackReport, lookup: FeedbackLookup, options: MatchOptions = {}): Promise<MatchResult> {
  const limit = options.limit ?? 100;
  const own = report.kind === "dsn" && report.reportingMta !== undefined && (options.isLocalMta?.(report.reportingMta) ?? false);
  const result = (via: MatchVia, candidates: OriginalMessage[], tokenRejected: boolean): MatchResult => ({
    via,
    candidates,
    tokenRejected,
    own,
  });
  if (report.kind === "not_a_report") return result("none", [], false);
  if (report.kind === "unsubscribe") {
    // The address is the whole request: without a valid token there is nobody to unsubscribe.
    const orig = await lookup.verifyUnsubscribeToken(report.token);
    return orig ? result("unsubscribe_token", [orig], false) : result("none", [], true);
  }
  let tokenRejected = false;
  const verified: OriginalMessage[] = [];
  for (const t of report.verp.slice(0, MAX_TOKENS)) {
    const orig = await lookup.verifyVerpToken(t.token);
    if (orig) verified.push(orig);
    else tokenRejected = true;
  }
  if (verified.length > 0) return result("verp", verified, false);

  const hints = queueHints(report);
  const mid = report.original?.messageId;
  if (mid) {
    const found = await lookup.findByMessageId(mid, limit);
    if (found.length > 0) {
      const narrowed = found.filter((o) => o.queue_id !== undefined && hints.some((h) => h.id === o.queue_id));
      return result("message_id", narrowed.length > 0 ? narrowed : found, tokenRejected);
    }
  }
  for (const h of hints.slice(0, MAX_QUEUE_LOOKUPS)) {
    const found = await lookup.findByQueueId(h.id, h.host, limit);
    if (found.length > 0) return result("queue_id", found, tokenRejected);
  }
  return result("none", [], tokenRejected);
}

/**
 * The original message for one recipient of the report (`rcpts`: the addresses the report gives
 * it). A token names message and recipient exactly when the report is about one recipient
 * (`sole`). Otherwise the candidate with that recipient; else the message without a recipient
 * (the report's own is used), since every recipient of a message shares its Message-ID.
 */
export function originalFor(match: MatchResult, rcpts: readonly (string | undefined)[], sole: boolean): OriginalMessage | undefined {
  if (match.candidates.length === 0) return undefined;
  const tokened = match.via === "verp" || match.via === "unsubscribe_token";
  if (tokened && sole && match.candidates.length === 1) return match.candidates[0];
  const wanted = rcpts.filter((r): r is string => r !== undefined).map((r) => r.toLowerCase());
  const exact = match.candidates.find((c) => c.rcpt_to !== undefined && wanted.includes(c.rcpt_to.toLowerCase()));
  if (exact) return exact;
  const { rcpt_to: _rcpt, ...message } = match.candidates[0]!;
  return message;
}

/** Queue ids a report carries: the returned message's, then (for a DSN) the reporting MTA's own. */
function queueHints(report: Exclude<FeedbackReport, { kind: "not_a_report" | "unsubscribe" }>): QueueIdHint[] {
  const hints: QueueIdHint[] = [...(report.original?.queueIds ?? [])];
  if (report.kind === "dsn" && report.queueId && !hints.some((h) => h.id === report.queueId)) {
    hints.push(report.reportingMta ? { id: report.queueId, host: report.reportingMta } : { id: report.queueId });
  }
  return hints;
}
