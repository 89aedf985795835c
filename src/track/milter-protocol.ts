import type { StoreTarget } from "../store/open.ts";
import type { Level } from "../lib/log.ts";
import type { MilterTrackConfig } from "./milter-handler.ts";

// What crosses between the main thread and the milter's thread (milter-worker.ts, through
// lib/worker-rpc.ts): settings in; counts, outcomes worth a log line and log lines out.

export type MilterWorkerInit = MilterTrackConfig & {
  store: StoreTarget;
  logLevel: Level;
  /** `[milter] listen` as written: "127.0.0.1:8891" or "unix:/path". */
  listen: string;
};

/** Messages since the previous note, by "outcome/reason" (deltas: a restarted worker adds nothing wrong). */
export type MilterCounts = {
  messages: Record<string, number>;
  /** Seconds each handled message took (the handler's own time). */
  seconds: number[];
};

export type MilterMethods = {
  /** Opens the store and starts listening; resolves with the address ("127.0.0.1:8891", "unix:/path"). */
  start(init: MilterWorkerInit): Promise<{ address: string }>;
  /** Stops listening (messages in progress get a few seconds), commits waiting rows, closes the store. */
  stop(): Promise<void>;
};

export type MilterNote = { t: "counts"; counts: MilterCounts } | { t: "log"; line: string };
