import type { MatchResult, MatchVia } from "./match.ts";
import type { Envelope, FeedbackKind, FeedbackReport } from "./types.ts";

// What /metrics and the status page show of the feedback intake: messages by kind, how
// reports were tied to their message, what was refused, and the last few messages no parser
// could read (kept small: a bounded ring of short excerpts).

export interface UnparsedSample {
  at: string;
  reason: string;
  size: number;
  mailFrom: string;
  rcptTo: string[];
  from?: string;
  subject?: string;
  messageId?: string;
  /** The first bytes of the message as text, for an operator to see what it was. */
  excerpt: string;
}

export interface FeedbackCounters {
  /** Messages accepted (250), by report kind. */
  byKind: Record<FeedbackKind, number>;
  /** Reports by how they were tied to their original message. */
  matched: Record<MatchVia, number>;
  events: number;
  /** DSNs from our own MTA (their events come from its log). */
  ownDsns: number;
  /** Reports whose token did not verify (forged, altered or from a retired key). */
  rejectedTokens: number;
  /** Messages refused with 4xx because the events could not be committed (the MTA retries). */
  commitFailures: number;
  /** Messages refused with 552. */
  tooLarge: number;
}

export interface FeedbackStatus {
  counters: FeedbackCounters;
  unparsed: UnparsedSample[];
}

const EXCERPT_BYTES = 2048;
const latin1 = new TextDecoder("latin1");

export class FeedbackStats {
  private readonly counters: FeedbackCounters = {
    byKind: { dsn: 0, complaint: 0, unsubscribe: 0, plain_bounce: 0, not_a_report: 0 },
    matched: { verp: 0, unsubscribe_token: 0, message_id: 0, queue_id: 0, none: 0 },
    events: 0,
    ownDsns: 0,
    rejectedTokens: 0,
    commitFailures: 0,
    tooLarge: 0,
  };
  private readonly ring: UnparsedSample[] = [];

  constructor(private readonly capacity = 20) {}

  /** A message whose outcome is committed (or that needed no commit). */
  accepted(o: { report: FeedbackReport; match: MatchResult; events: number }, raw: Uint8Array, envelope: Envelope, now: number): void {
    const { report, match } = o;
    this.counters.byKind[report.kind]++;
    if (report.kind !== "not_a_report") this.counters.matched[match.via]++;
    this.counters.events += o.events;
    if (match.own) this.counters.ownDsns++;
    if (match.tokenRejected) this.counters.rejectedTokens++;
    if (report.kind !== "not_a_report") return;
    const s: UnparsedSample = {
      at: new Date(now).toISOString(),
      reason: report.reason,
      size: raw.byteLength,
      mailFrom: envelope.mailFrom.slice(0, 320),
      rcptTo: envelope.rcptTo.slice(0, 5).map((r) => r.slice(0, 320)),
      excerpt: latin1.decode(raw.subarray(0, EXCERPT_BYTES)),
    };
    if (report.report.from) s.from = report.report.from;
    if (report.report.subject) s.subject = report.report.subject.slice(0, 200);
    if (report.report.messageId) s.messageId = report.report.messageId;
    this.ring.push(s);
    if (this.ring.length > this.capacity) this.ring.shift();
  }

  commitFailed(): void {
    this.counters.commitFailures++;
  }

  tooLarge(): void {
    this.counters.tooLarge++;
  }

  /** A copy: callers (the status page, /metrics) cannot change the counts. */
  status(): FeedbackStatus {
    return { counters: structuredClone(this.counters), unparsed: this.ring.map((s) => ({ ...s, rcptTo: [...s.rcptTo] })) };
  }
}
