// The recommended boundary, sketched on the hot paths: the store as units of work. Every
// method is one transaction (or one read) and returns a Promise; no caller ever holds a
// transaction open across an await. So the SQLite driver runs each method synchronously
// inside (no lock, nothing can interleave), and the PostgreSQL driver runs it as one
// sql.begin() with the statements and locks PostgreSQL needs. The full interface would carry
// one method per function of today's src/store (≈ 67) plus the units now composed by callers
// (the engine's pass, the ingest commit, the tracking commit, the key rotation).
import type { EventRows } from "../../../src/store/event-rows.ts";

export type Checkpoint = { dev: number; ino: number; fingerprint: string; offset: number };

/** A claimed head batch: the caller attempts it, then reports with the token. */
export type Claim = { batchId: string; webhookId: string; token: string; attempts: number };

export type Outcome = {
  batchId: string;
  webhookId: string;
  token: string;
  attempt: number;
  delivered: boolean;
  nextAttemptAt: number;
  at: number;
};

export interface StoreDriver {
  readonly kind: "sqlite" | "postgres";
  /** This node's name: checkpoints and leases are kept per node. */
  readonly node: string;

  /** POST /events: all or nothing, ids already stored are skipped; durable when it resolves. */
  insertEvents(rows: EventRows, source: string, now: number): Promise<{ inserted: number; duplicates: number }>;
  /** The ingest commit: a chunk's events and (when given) the source's position, together. */
  commitChunk(rows: EventRows, source: string, checkpoint: Checkpoint | null, now: number): Promise<{ types: string[] }>;
  loadCheckpoint(source: string): Promise<Checkpoint | null>;
  /** Events after `seq` in seq order; seq order is commit order on both drivers. */
  eventsAfter(seq: number, limit: number): Promise<{ seq: number; eventId: string }[]>;

  createWebhook(id: string, now: number): Promise<void>;
  /** A live batch cut from the cursor; false (nothing written) when the cursor moved meanwhile. */
  cutBatch(webhookId: string, fromCursor: number, toSeq: number, body: Uint8Array, now: number): Promise<boolean>;
  /**
   * Leases the head batch of each webhook that is due and free, at most one node per webhook at
   * a time; webhooks another node is serving right now are skipped, not waited for.
   */
  claimDue(webhookIds: readonly string[], now: number, leaseMs: number): Promise<Claim[]>;
  /** Records outcomes; each is refused (false) when its lease was lost meanwhile. */
  recordOutcomes(outcomes: readonly Outcome[]): Promise<boolean[]>;

  close(): Promise<void>;
}
