import type { Logger } from "../lib/log.ts";
import { startPeriodic, type Periodic, type Timers } from "../lib/periodic.ts";
import type { Store } from "../store/driver.ts";
import { isStoreBusy } from "../store/errors.ts";

// Keeps the store's message lookup index (FeedbackStore.indexStep) up with the events, off the hot path: every second,
// short write transactions of STEP events with a pause between them, so ingest and delivery
// commits never wait long for one. It works only once the feedback intake has activated the
// index (the LMTP listener at start, `hookd feedback` on its first message): a hookd that
// receives no feedback pays one single-row read a second.

const EVERY_MS = 1000;
const STEP = 2000;
const PAUSE_BETWEEN_STEPS_MS = 5;
/** Steps per run: a long backlog (the first activation on a big store) is worked off over several runs. */
const MAX_STEPS = 250;

export function startLookupIndexer(store: Store, log: Logger, opts: { everyMs?: number; timers?: Timers } = {}): Periodic {
  let failing = false;
  return startPeriodic({
    firstMs: opts.everyMs ?? EVERY_MS,
    everyMs: opts.everyMs ?? EVERY_MS,
    timers: opts.timers,
    onError: (err) => {
      // Busy: another writer holds the store; the next run tries again (lookups scan meanwhile).
      if (isStoreBusy(err)) return;
      // The store refusing writes for a while (a full disk) gives one line, not one a second.
      if (!failing)
        log.warn("feedback lookup index: step failed; lookups scan the events it has not reached", {
          error: err instanceof Error ? err.message : String(err),
        });
      failing = true;
    },
    async run({ signal, pause }) {
      if (!(await store.feedback.indexState())) return;
      await catchUp(store, { signal, pause, maxSteps: MAX_STEPS });
      await store.feedback.pruneIndex();
      if (failing) log.info("feedback lookup index: recovered");
      failing = false;
    },
  });
}

/**
 * Index steps until caught up, `maxSteps` were taken, `budgetMs` passed or `signal` aborts.
 * Returns the events still not indexed.
 */
export async function catchUp(
  store: Store,
  opts: { signal?: AbortSignal; pause?: (ms: number) => Promise<void>; maxSteps?: number; budgetMs?: number; step?: number } = {},
): Promise<number> {
  const started = performance.now();
  let behind = 0;
  for (let i = 0; i < (opts.maxSteps ?? Number.MAX_SAFE_INTEGER) && !opts.signal?.aborted; i++) {
    const s = await store.feedback.indexStep(opts.step ?? STEP);
    behind = s.behind;
    if (s.read === 0 || behind === 0) break;
    if (opts.budgetMs !== undefined && performance.now() - started > opts.budgetMs) break;
    await (opts.pause ?? ((ms: number) => Bun.sleep(ms)))(PAUSE_BETWEEN_STEPS_MS);
  }
  return behind;
}
