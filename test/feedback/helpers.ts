import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { FeedbackLookup, OriginalMessage } from "../../src/feedback/match.ts";
import { parseFeedback } from "../../src/feedback/report.ts";
import type { Envelope, FeedbackReport } from "../../src/feedback/types.ts";

export const FIXTURES = join(import.meta.dir, "../fixtures/feedback");

export function fixture(path: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, path)));
}

/** A bounce as an MTA delivers it to hookd: null sender, to the bounce address. */
export const BOUNCE: Envelope = { mailFrom: "", rcptTo: ["bounces@feedback.example.com"] };
/** A complaint as a feedback loop delivers it: from the provider, to the FBL address. */
export const FBL: Envelope = { mailFrom: "fbl@isp.example", rcptTo: ["fbl@feedback.example.com"] };

export function parse(path: string, envelope: Envelope = BOUNCE): Promise<FeedbackReport> {
  return parseFeedback(fixture(path), envelope);
}

export function expectKind<K extends FeedbackReport["kind"]>(r: FeedbackReport, kind: K): Extract<FeedbackReport, { kind: K }> {
  if (r.kind !== kind) throw new Error(`expected a ${kind} report, got ${r.kind}${r.kind === "not_a_report" ? ` (${r.reason})` : ""}`);
  return r as Extract<FeedbackReport, { kind: K }>;
}

/**
 * The lookup the store and track/tokens.ts will implement, over arrays: tokens map to the
 * message they were issued for; messages are found by Message-ID or queue id. Records its calls.
 */
export class MemoryLookup implements FeedbackLookup {
  readonly calls: string[] = [];
  failWith: Error | undefined;

  constructor(
    readonly messages: OriginalMessage[] = [],
    readonly verpTokens = new Map<string, OriginalMessage>(),
    readonly unsubscribeTokens = new Map<string, OriginalMessage>(),
  ) {}

  verifyVerpToken(token: string): OriginalMessage | null {
    this.calls.push(`verp:${token}`);
    return this.verpTokens.get(token) ?? null;
  }

  verifyUnsubscribeToken(token: string): OriginalMessage | null {
    this.calls.push(`unsubscribe:${token}`);
    return this.unsubscribeTokens.get(token) ?? null;
  }

  async findByMessageId(messageId: string, limit: number): Promise<OriginalMessage[]> {
    this.calls.push(`message_id:${messageId}`);
    if (this.failWith) throw this.failWith;
    return this.messages.filter((m) => m.message_id === messageId).slice(0, limit);
  }

  async findByQueueId(queueId: string, host: string | undefined, limit: number): Promise<OriginalMessage[]> {
    this.calls.push(`queue_id:${queueId}@${host ?? ""}`);
    if (this.failWith) throw this.failWith;
    return this.messages.filter((m) => m.queue_id === queueId).slice(0, limit);
  }
}
