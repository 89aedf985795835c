import type { Logger } from "../lib/log.ts";
import { startPeriodic, type Periodic, type Timers } from "../lib/periodic.ts";
import type { Store } from "../store/driver.ts";

const EVERY_MS = 60_000;
const FIRST_MS = 1000;
// Short write transactions with room between them, so the ingest thread's commits never wait long.
const PAUSE_BETWEEN_STEPS_MS = 50;
const MAX_STEPS = 1000;

/** Prunes delivered history older than `retentionMs`, a step at a time, once a minute. */
export function startRetention(
  store: Store,
  retentionMs: number,
  log: Logger,
  opts: { now?: () => number; timers?: Timers } = {},
): Periodic {
  const now = opts.now ?? Date.now;
  return startPeriodic({
    firstMs: FIRST_MS,
    everyMs: EVERY_MS,
    timers: opts.timers,
    onError: (err) => log.error("retention step failed", { error: err instanceof Error ? err.message : String(err) }),
    async run({ signal, pause }) {
      const total = { events: 0, batches: 0, attempts: 0 };
      try {
        for (let i = 0; i < MAX_STEPS && !signal.aborted; i++) {
          const s = await store.retention.pruneStep(now() - retentionMs);
          total.events += s.events;
          total.batches += s.batches;
          total.attempts += s.attempts;
          if (s.events + s.batches + s.attempts === 0) break;
          await pause(PAUSE_BETWEEN_STEPS_MS);
        }
      } finally {
        // What was pruned before a failing step is still worth a line.
        if (total.events + total.batches + total.attempts > 0) log.info("retention pruned delivered history", total);
      }
    },
  });
}
