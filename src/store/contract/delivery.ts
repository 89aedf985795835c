import type { WebhookRow } from "../rows.ts";

// Delivery's side of the store: the engine's pass as one unit of work, the batcher's reads,
// bodies, leases, retries, replays and retention. The engine plans from reads (events,
// webhooks) and hands the pass plain data to write: nothing runs SQL in the middle of a
// pass's transaction, so a driver may write it set-based (PostgreSQL: a few statements).
//
//   pending ──claim──▶ pending+lease ──2xx──▶ delivered
//      ▲                   │ other
//      │                   ├──retry left──▶ pending (next_attempt_at later)
//      └──── POST retry ───┴──retry_for over─▶ dead

/** A batch claimed by a pass: what its attempt needs. */
export type ClaimedBatch = {
  id: string;
  webhook_id: string;
  /** The shared body's id; null for batches from before bodies were shared (their own body). */
  body_id: number | null;
  /** Attempts so far, this one included. */
  attempts: number;
  first_attempt_at: number;
  event_count: number;
};

/** One attempt, as its attempts row records it. */
export type AttemptRecord = {
  batchId: string;
  webhookId: string;
  /** The lease token of the claim it was made under: a lost lease records nothing. */
  token: string;
  attempt: number;
  startedAt: number;
  latencyMs: number;
  responseCode: number | null;
  failureCode: string | null;
  responseSnippet: string | null;
};

export type Outcome = { kind: "delivered" } | { kind: "retry"; nextAttemptAt: number } | { kind: "dead" };

/** An attempt that ended, waiting for the next pass to record it. */
export type EndedAttempt = { record: AttemptRecord; outcome: Outcome; at: number };

/** What the batcher's first pass reads of an event: the columns that decide membership and size, never the body. */
export type ScanRow = {
  seq: number;
  type: string;
  host: string;
  mail_from: string | null;
  rcpt_to: string | null;
  custom_type: string | null;
  notice: string | null;
  received_at: number;
  /** The body's length in UTF-8 bytes. */
  bytes: number;
  /** Engagement rows only, when asked for: the body's `machine` (true/1, false/0, or absent). */
  machine?: unknown;
};

/** An event as a cut reads it: the membership columns and the body. */
export type CutRow = Omit<ScanRow, "received_at" | "bytes" | "machine"> & { body: string };

/** One batch of a planned cut: the same body for every member, one id per member (same order). */
export type PlannedBatch = {
  ids: readonly string[];
  body: Uint8Array;
  eventCount: number;
  firstSeq: number;
  lastSeq: number;
  toSeq: number;
};

/**
 * The batches planned for a group of webhooks that share a subscription and a cursor, in
 * order. Written compare-and-set: a member whose cursor or version (updatedAt) is no longer
 * what the plan read (moved, changed, deleted meanwhile) is left out; the others get every
 * batch (one shared body each) and their cursor moves to each batch's toSeq, then to cursorTo.
 */
export type PlannedCut = {
  members: readonly { webhookId: string; cursorSeq: number; version: number }[];
  batches: readonly PlannedBatch[];
  /** Where the cursor ends (≥ the last toSeq): events the filter skipped are done with too. */
  cursorTo: number;
  now: number;
};

/**
 * Claim a webhook's due head batches: of its `heads` oldest pending batches, those due and
 * not leased, at most `slots` of them. Skipped when its version (updatedAt) is no longer the
 * one the engine read: paused, edited or deleted meanwhile.
 */
export type ClaimRequest = { webhookId: string; version: number; heads: number; slots: number };

export type PassInput = {
  now: number;
  /** Recorded first, each under its lease token. */
  ended: readonly EndedAttempt[];
  cuts: readonly PlannedCut[];
  /** In order, until `maxClaims` claims are made. */
  claims: readonly ClaimRequest[];
  maxClaims: number;
  /** A claim's lease: past it, the batch may be claimed again (a dead sender's attempt is resent). */
  leaseMs: number;
};

export type PassOutcome = {
  /** Per ended attempt, in order: false when its lease was lost meanwhile (nothing recorded for it). */
  recorded: boolean[];
  /** Webhooks that got at least one batch. */
  cut: string[];
  /** In the order of the requests; each attempt is made under its token. */
  claims: { batch: ClaimedBatch; token: string }[];
  /** The earliest next_attempt_at among the head batches looked at that were not due yet (null: none). */
  nextDueAt: number | null;
};

export interface DeliveryStore {
  /** What a pass starts from, read together: every webhook (newest first) and its count of pending batches (absent: none). */
  passState(): Promise<{ webhooks: WebhookRow[]; pending: Map<string, number> }>;
  /** The batcher's first pass: events after `afterSeq` in seq order, without bodies. */
  scan(afterSeq: number, limit: number, opts: { machine: boolean }): Promise<ScanRow[]>;
  /** The batcher's second pass: the events with afterSeq < seq ≤ upToSeq, in seq order, with bodies. */
  cutRows(afterSeq: number, upToSeq: number): Promise<CutRow[]>;
  /**
   * The engine's pass, one write transaction, durable when it resolves (SQLite: FULL): records
   * the ended attempts (delivered / retry / dead, the webhook's success or failure streak), writes
   * the planned cuts, then claims. All or nothing: a pass that fails recorded, cut and claimed
   * nothing. The claims are leases: the caller starts their attempts only after this resolves.
   */
  pass(input: PassInput): Promise<PassOutcome>;
  /** A claimed batch's body: its shared one, or (older batches) its own. */
  body(batch: Pick<ClaimedBatch, "id" | "body_id">): Promise<Uint8Array>;
  /** At start: this process's leases left by a previous run are void (nothing is in flight yet). */
  releaseLeases(): Promise<number>;
  /** Dead batches (all, or those named) back to pending now, with a fresh retry_for window; how many. */
  requeueDead(webhookId: string, now: number, batchIds?: readonly string[]): Promise<number>;
}

/** An event a replay reads: the membership columns and the body. */
export type ReplayRow = CutRow;

/** A replay's batch: new id, its events' bodies encoded. */
export type ReplayBatch = { id: string; eventCount: number; firstSeq: number; lastSeq: number; body: Uint8Array };

/**
 * How a replay turns pages of events into batches: pure and synchronous (it runs inside the
 * replay's transaction and must not touch the store). `page` returns the batches completed by
 * a page, `end` the last, partial one.
 */
export type ReplayCutter = { page(rows: readonly ReplayRow[]): readonly ReplayBatch[]; end(): readonly ReplayBatch[] };

export interface ReplayStore {
  /** Events whose own timestamp is in [since, until). */
  countInRange(since: number, until: number): Promise<number>;
  /** Events in the webhook's replay batches not delivered yet (pending or dead): what replays add to the store. */
  backlog(webhookId: string): Promise<number>;
  /**
   * One replay in one write transaction (durable when it resolves): the events with
   * since ≤ ts < until, page by page in seq order, through `cutter`, stored as replay batches
   * queued behind what is pending. A body already stored with the same bytes is shared.
   */
  insert(
    webhookId: string,
    range: { since: number; until: number },
    cutter: ReplayCutter,
    now: number,
  ): Promise<{ batches: number; events: number }>;
}

export type PruneStep = { events: number; batches: number; attempts: number };

export interface RetentionStore {
  /**
   * One short write transaction: removes up to a few thousand events older than `cutoff` that
   * every webhook is done with (no cursor, no pending or dead live batch needs them), and
   * delivered batches and their attempts older than it. Dead batches are never pruned.
   */
  pruneStep(cutoff: number): Promise<PruneStep>;
}
