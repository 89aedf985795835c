import { pendingBatchCounts, releaseAllLeases } from "../store/batches.ts";
import { listWebhooks } from "../store/webhooks.ts";
import { webhookCanSend } from "../webhooks/model.ts";
import { createBatcher } from "./batcher.ts";
import { createBodyCache } from "./body-cache.ts";
import { createDispatcher, type Claim } from "./dispatcher.ts";
import { createOutcomeQueue, type Finished } from "./outcome.ts";
import { createScheduler } from "./scheduler.ts";
import type { Engine, EngineDeps, PassResult } from "./engine-contract.ts";

export type { Engine, EngineDeps, PassResult };

// The delivery engine, put together from its stages. A pass: the batcher cuts new batches
// from the events, the outcome queue records the attempts that ended since the last pass, the
// dispatcher claims what is due; then, once committed, the dispatcher starts those attempts.
// The scheduler decides when a pass runs; tests run passes themselves (manual, tick()).

const IDLE_MS = 1000;
// Bodies shared by a group of webhooks, kept while their attempts run (a few full batches).
const BODY_CACHE_BYTES = 32 * 1024 * 1024;
// runUntilIdle against a receiver that fails at once with no backoff would never be idle.
const MAX_PASSES_UNTIL_IDLE = 10_000;

export function createEngine(deps: EngineDeps): Engine {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const db = deps.store.sqlite;
  const log = deps.log.child({ component: "deliver" });
  const bodies = createBodyCache(db, BODY_CACHE_BYTES);
  const outcomes = createOutcomeQueue(db, log, deps.onAttempt);
  const batcher = createBatcher(db, deps.delivery);
  const rules = {
    policy: deps.retryPolicy,
    random,
    get retryForMs() {
      return deps.delivery().retry_for;
    },
  };
  const finished = (f: Finished) => outcomes.push(f);
  const dispatcher = createDispatcher({
    db,
    delivery: deps.delivery,
    attempt: deps.attempt,
    bodies,
    log,
    now,
    rules,
    finished,
    onSlotFree: () => scheduler.notify(),
  });
  // Worth one turn of the event loop before a pass: answers waiting while others still run.
  const answersWaiting = () => outcomes.size > 0 && dispatcher.active > 0;
  const scheduler = createScheduler({ pass: () => pass().wakeAt, answersWaiting, now, log, idleMs: IDLE_MS });
  let started = false;

  /** All records, cuts and claims of a pass are one transaction: one fsync per pass, not per batch. */
  function pass(): PassResult {
    const t = now();
    if (dispatcher.active === 0 && bodies.size) bodies.clear();
    // One read of the webhooks and their pending counts serves the whole pass: a pass runs
    // after every finished attempt, and with 100 webhooks per-webhook queries were most of it.
    const hooks = listWebhooks(deps.store.db).filter(webhookCanSend);
    const pending = pendingBatchCounts(db);
    // Reading and encoding the batches to cut happens before the write lock is taken: the
    // ingest thread's commits wait only for the writes.
    const plan = batcher.cutAll(t, hooks, pending);
    let wakeAt = Math.min(t + IDLE_MS, plan.nextDueAt);
    const claims: Claim[] = [];
    const ended = outcomes.take();
    try {
      db.transaction(() => {
        outcomes.record(ended);
        for (const write of plan.writes) write();
        // Cut just now or waiting from before: a webhook with neither has nothing to claim.
        for (const w of hooks) {
          if (!pending.get(w.id) && !plan.cutFor.has(w.id)) continue;
          const due = dispatcher.claimDue(w, t, claims);
          if (due !== null) wakeAt = Math.min(wakeAt, due);
        }
      }).immediate();
    } catch (err) {
      // Rolled back: nothing was recorded or claimed. The outcomes wait for the next pass;
      // the claims were never counted.
      outcomes.restore(ended);
      throw err;
    }
    outcomes.report(ended);
    dispatcher.start(claims);
    return { recorded: ended.length, cut: plan.cutFor.size, claimed: claims.length, wakeAt };
  }

  async function tick(): Promise<PassResult> {
    if (scheduler.running) throw new Error("engine.tick(): the loop is running; tick() drives a manual engine");
    return pass();
  }

  return {
    start() {
      if (started) return;
      started = true;
      const released = releaseAllLeases(db);
      if (released) log.info("released leases left by a previous run", { batches: released });
      if (!deps.manual) scheduler.start();
    },
    async stop() {
      await scheduler.stop();
      await dispatcher.settle();
      const ended = outcomes.take();
      db.transaction(() => outcomes.record(ended)).immediate();
      outcomes.report(ended);
    },
    notify: () => scheduler.notify(),
    tick,
    settle: () => dispatcher.settle(),
    async runUntilIdle() {
      for (let i = 0; i < MAX_PASSES_UNTIL_IDLE; i++) {
        const p = await tick();
        await dispatcher.settle();
        if (p.recorded + p.cut + p.claimed === 0 && outcomes.size === 0) return;
      }
      throw new Error(`engine.runUntilIdle(): still busy after ${MAX_PASSES_UNTIL_IDLE} passes`);
    },
  };
}
