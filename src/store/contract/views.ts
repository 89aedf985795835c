// What the API, the admin page and /metrics read about deliveries: recent batches, one batch
// with its attempts, queue figures and rates. Reads only, each one statement's snapshot or a
// few; lists take many webhooks at once so a driver can answer them set-based.

export type BatchStatusRow = {
  id: string;
  kind: string;
  state: string;
  event_count: number;
  bytes: number;
  created_at: number;
  attempts: number;
  last_attempt_at: number | null;
  next_attempt_at: number;
  last_response_code: number | null;
  last_failure_code: string | null;
  done_at: number | null;
};

export type AttemptRow = {
  batch_id: string;
  attempt: number;
  started_at: number;
  latency_ms: number | null;
  response_code: number | null;
  failure_code: string | null;
  response_snippet: string | null;
};

/** A webhook's queue: batches cut but not delivered, plus events after its cursor that it subscribes to by type. */
export type QueueFigures = {
  /** Events waiting: in pending batches, plus events not batched yet (by type; its filter not applied: an upper bound). */
  depth: number;
  pendingBatches: number;
  deadBatches: number;
  /** When the oldest waiting event arrived or the oldest pending batch was cut; null when nothing waits. */
  oldestPendingAt: number | null;
};

export interface ViewStore {
  /** A webhook's batches, newest first, optionally of one state. */
  recentBatches(webhookId: string, limit: number, state?: string): Promise<BatchStatusRow[]>;
  batch(webhookId: string, batchId: string): Promise<(BatchStatusRow & { first_attempt_at: number | null }) | null>;
  /** A batch's attempts, first first. */
  attempts(batchId: string): Promise<AttemptRow[]>;
  /** Each webhook's queue, in the order given. */
  queues(webhooks: readonly { id: string; cursorSeq: number; events: readonly string[] }[]): Promise<QueueFigures[]>;
  /** Events delivered per minute over the last `minutes` minutes, oldest first, for each webhook in the order given. */
  deliveredPerMinute(webhookIds: readonly string[], now: number, minutes: number): Promise<number[][]>;
}
