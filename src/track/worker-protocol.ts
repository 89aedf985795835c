import type { StoreTarget } from "../store/open.ts";
import type { Level } from "../lib/log.ts";
import type { Hit } from "./events.ts";

// What crosses between the threads of tracking (through lib/worker-rpc.ts):
// - main ⇄ listener (worker.ts): settings in, plain counts out. Events reach the main thread
//   through the store; keys never cross to it (it reads the ring from the store itself).
// - listener ⇄ writer (worker-writer.ts): batches of hits in, what was stored out; the ring as
//   stored (JSON) whenever it changes, so the listener never touches SQLite.

export type TrackWorkerInit = {
  store: StoreTarget;
  logLevel: Level;
  /** This node's host, for events whose token names none. */
  host: string;
  hostname: string;
  port: number;
  fastClickSeconds: number;
  /** Requests a second per client address; 0: no limit. */
  rateLimit: number;
  /** Addresses and networks ("10.0.0.0/8") whose X-Forwarded-For is believed. */
  trustProxy: string[];
};

/** Counts since the previous note (deltas, so a restarted worker's zeros add nothing wrong). */
export type TrackCounts = {
  hits: { open: number; click: number; unsubscribe: number };
  machine: { open: number; click: number };
  notFound: number;
  rateLimited: number;
  /** Hits committed to the store (duplicates included: they were recorded before). */
  recorded: number;
  /** Hits the writer refused: too many waiting for the store. */
  queueFull: number;
  /** Hits whose commit failed. */
  commitFailed: number;
  /** Pixels and redirects answered before their commit finished (it finished later, or failed). */
  answeredBeforeCommit: number;
  /** Seconds each commit took, for the histogram. */
  commitSeconds: number[];
};

export type TrackMethods = {
  /** Opens the store and starts listening; resolves with the listener's URL. */
  start(init: TrackWorkerInit): Promise<{ url: string; port: number }>;
  /** Stops listening, commits what is queued, closes the store. */
  stop(): Promise<void>;
};

export type TrackNote =
  /** After a commit that stored events: a wake-up for delivery and the counts for /metrics. */
  | { t: "stored"; types: Record<string, number> }
  /** Once a second while anything moved. */
  | { t: "counts"; counts: TrackCounts }
  /** A log line the worker's logger wrote (JSON), for the main thread's logger to emit. */
  | { t: "log"; line: string };

export type WriterInit = { store: StoreTarget; logLevel: Level; host: string };

export type CommitAnswer = {
  /** Events stored by type (duplicates left out). */
  stored: Record<string, number>;
  /** How long the transaction took. */
  seconds: number;
};

export type WriterMethods = {
  /** Commits one batch of hits in one transaction. */
  commit(hits: Hit[]): Promise<CommitAnswer>;
  /** The keyring as stored (JSON text). */
  ring(): Promise<string>;
  /** Closes the connection. */
  stop(): Promise<void>;
};

export type WriterNote =
  /** The stored keyring changed (a rotation, by the API or the CLI). */
  { t: "ring"; ring: string } | { t: "log"; line: string };
