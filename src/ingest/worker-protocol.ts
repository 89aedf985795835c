import type { SourceConfig } from "../config/schema.ts";
import type { Level } from "../lib/log.ts";
import type { StoreTarget } from "../store/open.ts";
import type { SourceStatusView } from "./ingester.ts";

// What crosses between the main thread and the ingest worker (through lib/worker-rpc.ts).
// Only plain data: events themselves stay in the worker and reach the main thread through the store.

export type WorkerInit = { store: StoreTarget; logLevel: Level };

/** The main thread's calls: bring the running sources in line with the config; commit and close. */
export type IngestMethods = {
  apply(sources: SourceConfig[]): Promise<void>;
  stop(): Promise<void>;
};

/** The worker's notes to the main thread. */
export type IngestNote =
  /** A committed chunk: what /metrics counts … */
  | { t: "lines"; source: string; lines: number; notUnderstood: number }
  /** … and, when it stored events, a wake-up for the delivery engine. */
  | { t: "events"; source: string; eventTypes: Record<string, number> }
  | { t: "status"; sources: SourceStatusView[] }
  /** A log line the worker's logger wrote (JSON), for the main thread's logger to emit. */
  | { t: "log"; line: string }
  | { t: "fatal"; error: string };
