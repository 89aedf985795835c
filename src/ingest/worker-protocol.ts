import type { SourceConfig } from "../config/schema.ts";
import type { Level } from "../lib/log.ts";
import type { SourceStatusView } from "./ingester.ts";

// Messages between the main thread and the ingest worker. Only plain data crosses: events
// themselves stay in the worker and reach the main thread through the store.

export type WorkerInit = { storePath: string; logLevel: Level };

export type ToWorker = { t: "apply"; id: number; sources: SourceConfig[] } | { t: "stop"; id: number };

export type FromWorker =
  | { t: "done"; id: number; error?: string }
  /** A committed chunk: what /metrics counts … */
  | { t: "lines"; source: string; lines: number; notUnderstood: number }
  /** … and, when it stored events, a wake-up for the delivery engine. */
  | { t: "events"; source: string; eventTypes: Record<string, number> }
  | { t: "status"; sources: SourceStatusView[] }
  /** A log line the worker's logger wrote (JSON), for the main thread's logger to emit. */
  | { t: "log"; line: string }
  | { t: "fatal"; error: string };
