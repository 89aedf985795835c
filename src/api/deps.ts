import type { HookdMetrics } from "../app-metrics.ts";
import type { FeedbackStatus } from "../feedback/stats.ts";
import type { Config } from "../config/schema.ts";
import type { AttemptContext } from "../deliver/attempt.ts";
import type { SourceStatusView } from "../ingest/ingester.ts";
import type { Logger } from "../lib/log.ts";
import type { Store } from "../store/driver.ts";
import type { TrackingService } from "../track/service.ts";

/** What the API needs from the rest of hookd; the composition root provides it. */
export type ApiDeps = {
  store: Store;
  config: Config;
  version: string;
  log: Logger;
  /** Wakes the delivery engine after events are stored (a no-op until it runs). */
  notifyEvents: () => void;
  now: () => number;
  metrics: HookdMetrics;
  /** How test POSTs and validate reach receivers (same as the engine's). */
  attempt: AttemptContext;
  /** Tailed log sources as they are now (empty without [[sources]]). */
  sourceStatus: () => SourceStatusView[];
  /** Aborted when hookd stops, so endless responses (the live tail) end and the server can close. */
  closing: AbortSignal;
  /** This node's name (storage.node or the hostname): /status marks it among the fleet's nodes. */
  node: string;
  /** Default `host` of events posted without one. */
  hostname: string;
  /** Rewrite, key rotation, the listener's status and counts. */
  tracking: TrackingService;
  /** The feedback listener's address, counters and unparsed samples; absent or null when it is off. */
  feedbackStatus?: () => (FeedbackStatus & { listen: string }) | null;
};
