import type { EventRows } from "../event-rows.ts";

// The feedback intake's side of the store: its commit, and the index of stored events by
// Message-ID and queue id (lookup-key.ts) that matches a report to its original message.

/** A stored event that names the message looked for: what a report's event takes from it. */
export type MessageRef = {
  seq: number;
  queue_id: string | null;
  message_id: string | null;
  rcpt_to: string | null;
  mail_from: string | null;
  host: string;
  campaign_id: string | null;
  /** JSON text as stored in the event body (an array), or null. */
  tags: string | null;
  /** JSON text as stored in the event body (an object), or null. */
  metadata: string | null;
};

export type IndexStep = {
  /** Events read in this step. */
  read: number;
  /** Index rows written. */
  added: number;
  /** Events stored after the last indexed one (0: caught up). */
  behind: number;
};

export interface FeedbackStore {
  /**
   * Several reports' events in one write transaction (source "feedback"), all or none, durable
   * when it resolves: "250" and "exit 0" mean stored. Ids already stored are skipped. The
   * types stored of each group, in order.
   */
  commit(groups: readonly EventRows[], now: number): Promise<string[][]>;
  /** Starts the index (from the first stored event) unless it runs already; waits at most `waitMs` for the write lock. */
  activateIndex(waitMs?: number): Promise<void>;
  /** Where the index stands; null when it was never activated. */
  indexState(): Promise<{ indexedSeq: number; maxSeq: number } | null>;
  /**
   * Indexes up to `maxEvents` events after the last indexed one, in one write transaction (rows
   * and position together: a crash repeats a step, never skips one). Waits at most `waitMs`
   * for the write lock, then fails busy (isStoreBusy): the index can wait. Nothing when never activated.
   */
  indexStep(maxEvents?: number, waitMs?: number): Promise<IndexStep>;
  /** Drops up to `maxRows` index rows whose events retention removed; how many. */
  pruneIndex(maxRows?: number, waitMs?: number): Promise<number>;
  /** Stored events (none written by the feedback intake) with this Message-ID (no angle brackets), newest first; the index's lag is scanned. */
  findByMessageId(messageId: string, limit: number): Promise<MessageRef[]>;
  /** Stored events (none written by the feedback intake) with this queue id, newest first. */
  findByQueueId(queueId: string, limit: number): Promise<MessageRef[]>;
}
