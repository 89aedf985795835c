import type { Logger } from "../lib/log.ts";
import { repeatedFailureLog } from "./repeated-failure.ts";

// When the engine runs a pass, one at a time. The store is the source of truth for every schedule: the loop
// only wakes up early (notify), sleeps until the next due time, and re-reads what is due. A
// timer that dies with the process loses nothing, because nothing lives only in a timer.

// A pass that fails every time (a full disk) logs once, then once a minute with a count.
const FAILURE_LOG_EVERY_MS = 60_000;

export type Scheduler = {
  start(): void;
  /** Ends the loop after the pass under way; no pass starts once it is called. */
  stop(): Promise<void>;
  /** Something changed: run a pass now (or right after the one under way). */
  notify(): void;
  readonly running: boolean;
};

export function createScheduler(deps: {
  /** One pass; resolves with when to look again at the latest. */
  pass: () => Promise<number>;
  /** Answers are waiting to be recorded while other attempts still run. */
  answersWaiting: () => boolean;
  now: () => number;
  log: Logger;
  /** The longest sleep: what no notify() reaches (the clock, another process) is seen within it. */
  idleMs: number;
}): Scheduler {
  const { now, log, idleMs } = deps;
  let stopping = false;
  let dirty = true;
  let wake: (() => void) | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let loopDone: Promise<void> | null = null;
  const failures = repeatedFailureLog(log, {
    failed: "delivery tick failed",
    recovered: "delivery tick recovered",
    everyMs: FAILURE_LOG_EVERY_MS,
    now,
  });

  function notify() {
    dirty = true;
    wake?.();
  }

  async function loop() {
    while (!stopping) {
      // An attempt that finishes wakes the loop at once, ahead of the answers already waiting
      // in the event loop; while others still run, let those land first so that one pass (one
      // commit, one fsync) records them all. 100 webhooks: 1,111 passes → ~135, +25% sent.
      if (deps.answersWaiting()) {
        await new Promise((resolve) => setImmediate(resolve));
        if (stopping) break; // stop() records what finished; no new claims while draining
      }
      dirty = false;
      let next: number;
      try {
        next = await deps.pass();
        failures.succeeded();
      } catch (err) {
        failures.failed(err);
        next = now() + idleMs;
      }
      if (dirty || stopping) continue;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, Math.max(0, Math.min(next - now(), idleMs)));
      });
      wake = null;
      if (timer) clearTimeout(timer);
    }
  }

  return {
    start() {
      loopDone ??= loop();
    },
    async stop() {
      stopping = true;
      wake?.();
      await loopDone;
    },
    notify,
    get running() {
      return loopDone !== null && !stopping;
    },
  };
}
