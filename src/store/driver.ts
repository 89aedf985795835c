import type { ApiKeyStore, DomainStore, WebhookStore } from "./contract/admin.ts";
import type { DeliveryStore, ReplayStore, RetentionStore } from "./contract/delivery.ts";
import type { EventStore, IngestStore } from "./contract/events.ts";
import type { FeedbackStore } from "./contract/feedback.ts";
import type { TrackingStore } from "./contract/tracking.ts";
import type { ViewStore } from "./contract/views.ts";

// The store as hookd's other layers see it: units of work behind one interface, whatever
// database runs them. Every method is one whole transaction (or one read) and returns a
// promise; no caller holds a transaction open across an await, and the units callers used to
// compose from several statements (the engine's pass, the ingest commit, the tracking and
// feedback commits, key rotation) are methods of their own. So the SQLite driver runs each
// method synchronously inside (nothing else on the thread can run in the middle of one: no
// lock needed), and a PostgreSQL driver runs each as one transaction with the statements and
// row locks it needs. Each method's comment says what it promises.
//
// Durability: a method that says "durable when it resolves" has fsynced its commit. A driver
// opened with durability "normal" (the ingest worker's, the tracking writer's) commits
// atomically without the fsync, except where a method says otherwise.

export type * from "./contract/admin.ts";
export type * from "./contract/delivery.ts";
export type * from "./contract/events.ts";
export type * from "./contract/feedback.ts";
export type * from "./contract/tracking.ts";
export type * from "./contract/views.ts";
export type * from "./rows.ts";
export type { EventRows } from "./event-rows.ts";
export type { Scope } from "./api-keys.ts";

export type OpenOptions = {
  /**
   * "full" (default): every write method is durable when it resolves. "normal": atomic, not
   * fsynced — for connections that only write what can be rebuilt (a log's events: the log
   * still holds the lines; tracking hits, except one-clicks).
   */
  durability?: "full" | "normal";
};

/** A node of the fleet as its heartbeat last wrote it (SQLite: the one process). */
export type NodeInfo = {
  name: string;
  startedAt: number;
  lastSeenAt: number;
  version: string;
  /** What the node said of its log sources (plain JSON: path, status, lag). */
  sources: unknown[];
};

export interface MetaStore {
  /** The store's size on disk (SQLite: the file and its WAL; PostgreSQL: the database), for /metrics. */
  sizeBytes(): Promise<number>;
  /** This node is alive: its row written (one short write, not fsynced on its own). */
  heartbeat(node: NodeInfo): Promise<void>;
  /** Every node that ever wrote a heartbeat, by name. */
  nodes(): Promise<NodeInfo[]>;
  /** Batches leased now (attempts in flight), per node holding them ('' for SQLite's one node). */
  inFlight(now: number): Promise<Map<string, number>>;
  /**
   * A value that changes when another process stores events, changes a webhook or cuts a
   * batch: one cheap read, polled on a fleet to wake a node's delivery for work another node
   * wrote (PostgreSQL's LISTEN is not in Bun 1.3.14's SQL).
   */
  changeMark(): Promise<string>;
}

export interface StoreDriver {
  readonly kind: "sqlite" | "postgres";
  /** Where the store is, for logs: a file path or a URL without its password. */
  readonly location: string;
  readonly events: EventStore;
  readonly ingest: IngestStore;
  readonly delivery: DeliveryStore;
  readonly replay: ReplayStore;
  readonly retention: RetentionStore;
  readonly views: ViewStore;
  readonly webhooks: WebhookStore;
  readonly domains: DomainStore;
  readonly keys: ApiKeyStore;
  readonly tracking: TrackingStore;
  readonly feedback: FeedbackStore;
  readonly meta: MetaStore;
  /** Waits for nothing: every unit has resolved by the time its caller goes on. Later calls fail. */
  close(): Promise<void>;
}

/** What callers hold: one open store. */
export type Store = StoreDriver;
