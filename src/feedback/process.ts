import type { EventInput } from "../events/schema.ts";
import { type EventContext, feedbackEvents } from "./events.ts";
import { type FeedbackLookup, type MatchOptions, type MatchResult, matchReport } from "./match.ts";
import { type ParseOptions, parseFeedback } from "./report.ts";
import type { FeedbackStats } from "./stats.ts";
import type { Envelope, FeedbackReport } from "./types.ts";

// One message through the feedback pipeline: parse → match → events → commit. Shared by the
// LMTP listener and `hookd feedback` (a pipe transport): both answer "stored" only after
// commit() returned, and "try again later" when the lookup or commit() threw.

export interface FeedbackDeps {
  lookup: FeedbackLookup;
  /** Stores the events, all or none; resolves once they are durable. Called only when there are events. */
  commit: (events: EventInput[]) => Promise<void>;
  /** The hookd host label put on events. */
  host: string;
  now?: () => number;
  parse?: ParseOptions;
  match?: MatchOptions;
  stats?: FeedbackStats;
}

export interface Outcome {
  report: FeedbackReport;
  match: MatchResult;
  events: EventInput[];
}

/** A failure the sender should retry (the store or a lookup refused): LMTP 451, pipe exit 75. */
export class TemporaryFailure extends Error {
  constructor(
    readonly stage: "match" | "commit",
    override readonly cause: unknown,
  ) {
    super(`feedback ${stage} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "TemporaryFailure";
  }
}

/**
 * Parses and commits one message. Resolves with what was done (a message that is no report
 * resolves too: it is counted, never refused); rejects only with a TemporaryFailure.
 */
export async function processMessage(raw: Uint8Array, envelope: Envelope, deps: FeedbackDeps): Promise<Outcome> {
  const now = deps.now?.() ?? Date.now();
  const report = await parseFeedback(raw, envelope, deps.parse);
  let match: MatchResult;
  try {
    match = await matchReport(report, deps.lookup, deps.match);
  } catch (err) {
    deps.stats?.commitFailed();
    throw new TemporaryFailure("match", err);
  }
  const ctx: EventContext = { host: deps.host, receivedAt: now };
  const events = feedbackEvents(report, match, ctx);
  if (events.length > 0) {
    try {
      await deps.commit(events);
    } catch (err) {
      deps.stats?.commitFailed();
      throw new TemporaryFailure("commit", err);
    }
  }
  deps.stats?.accepted({ report, match, events: events.length }, raw, envelope, now);
  return { report, match, events };
}
