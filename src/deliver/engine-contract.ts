import type { Config } from "../config/schema.ts";
import type { Logger } from "../lib/log.ts";
import type { Store } from "../store/driver.ts";
import type { AttemptContext } from "./attempt.ts";
import type { AttemptReport } from "./outcome.ts";
import type { RetryPolicy } from "./retry-policy.ts";

// The delivery engine's contract: what it needs, and what the composition root and the
// tests may ask of it. engine.ts builds it from the stages.

export type EngineDeps = {
  store: Store;
  /** The delivery settings as configured now: a SIGHUP reload swaps what this returns. */
  delivery: () => Config["delivery"];
  log: Logger;
  version: string;
  now?: () => number;
  random?: () => number;
  retryPolicy?: Partial<RetryPolicy>;
  /** Shared with the API's test POSTs, so OAuth2 tokens are fetched once. */
  attempt: AttemptContext;
  /** Called after every attempt (metrics, tests). */
  onAttempt?: (a: AttemptReport) => void;
  /** No loop: start() only releases old leases, and passes run when tick() is called (tests). */
  manual?: boolean;
};

/** What one pass did, and when the loop would look again at the latest. */
export type PassResult = { recorded: number; cut: number; claimed: number; wakeAt: number };

export type Engine = {
  /** Releases leases left by a previous run, then (unless manual) starts the loop. */
  start(): Promise<void>;
  /** Stops claiming, waits for attempts in flight (bounded by the per-attempt timeout). */
  stop(): Promise<void>;
  /** New events or changed webhooks: look again now. */
  notify(): void;
  /**
   * One pass, exactly as the loop runs it: records the attempts that ended, cuts (`cut`:
   * webhooks that got a batch), claims and starts attempts. Only while no loop runs (manual).
   */
  tick(): Promise<PassResult>;
  /** Resolves once the attempts in flight have ended; the next pass records them. */
  settle(): Promise<void>;
  /** tick() and settle() until a pass has nothing to record, cut or claim, and no attempt ended since. */
  runUntilIdle(): Promise<void>;
};
