import type { Logger } from "../lib/log.ts";
import { pruneStep } from "../store/retention.ts";
import type { Database } from "bun:sqlite";

const EVERY_MS = 60_000;
const PAUSE_BETWEEN_STEPS_MS = 50;

/** Prunes delivered history older than `retentionMs`, a step at a time, once a minute. */
export function startRetention(db: Database, retentionMs: number, log: Logger, now: () => number = Date.now) {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const run = async () => {
    const total = { events: 0, batches: 0, attempts: 0 };
    try {
      for (let i = 0; i < 1000 && !stopped; i++) {
        const s = pruneStep(db, now() - retentionMs);
        total.events += s.events;
        total.batches += s.batches;
        total.attempts += s.attempts;
        if (s.events + s.batches + s.attempts === 0) break;
        await Bun.sleep(PAUSE_BETWEEN_STEPS_MS);
      }
      if (total.events + total.batches + total.attempts > 0) log.info("retention pruned delivered history", total);
    } catch (err) {
      log.error("retention step failed", { error: err instanceof Error ? err.message : String(err) });
    }
    if (!stopped) timer = setTimeout(run, EVERY_MS);
  };
  timer = setTimeout(run, 1000);
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
