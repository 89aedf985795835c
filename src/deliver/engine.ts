import { webhookCanSend } from "../webhooks/model.ts";
import { createBatcher } from "./batcher.ts";
import { createBodyCache } from "./body-cache.ts";
import { createDispatcher, type Claim } from "./dispatcher.ts";
import { createOutcomeQueue, type Finished } from "./outcome.ts";
import { createScheduler } from "./scheduler.ts";
import type { Engine, EngineDeps, PassResult } from "./engine-contract.ts";

export type { Engine, EngineDeps, PassResult };

// The delivery engine, put together from its stages. A pass: the batcher plans new batches
// from the events, then one unit of work in the store (DeliveryStore.pass) records the
// attempts that ended since the last pass, writes those batches and claims what is due; once
// it has committed, the dispatcher starts the claimed attempts. The scheduler decides when a
// pass runs (one at a time); tests run passes themselves (manual, tick()).

const IDLE_MS = 1000;
// Bodies shared by a group of webhooks, kept while their attempts run (a few full batches).
const BODY_CACHE_BYTES = 32 * 1024 * 1024;
// runUntilIdle against a receiver that fails at once with no backoff would never be idle.
const MAX_PASSES_UNTIL_IDLE = 10_000;

export function createEngine(deps: EngineDeps): Engine {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const store = deps.store;
  const log = deps.log.child({ component: "deliver" });
  const bodies = createBodyCache(store, BODY_CACHE_BYTES);
  const outcomes = createOutcomeQueue(log, deps.onAttempt);
  const batcher = createBatcher(store, deps.delivery);
  const rules = {
    policy: deps.retryPolicy,
    random,
    get retryForMs() {
      return deps.delivery().retry_for;
    },
  };
  const finished = (f: Finished) => outcomes.push(f);
  const dispatcher = createDispatcher({
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
  const scheduler = createScheduler({ pass: async () => (await pass()).wakeAt, answersWaiting, now, log, idleMs: IDLE_MS });
  let started = false;

  /** All records, cuts and claims of a pass are one unit of work: one fsync per pass, not per batch. */
  async function pass(): Promise<PassResult> {
    const t = now();
    if (dispatcher.active === 0 && bodies.size) bodies.clear();
    const state = await store.delivery.passState();
    const hooks = state.webhooks.filter(webhookCanSend);
    // Reading and encoding the batches to cut happens before the pass's write transaction:
    // the ingest thread's commits wait only for the writes.
    const plan = await batcher.cutAll(t, hooks, state.pending);
    // Cut just now or waiting from before: a webhook with neither has nothing to claim.
    const claiming = dispatcher.plan(hooks, (id) => Boolean(state.pending.get(id)) || plan.cutFor.has(id));
    const ended = outcomes.take();
    let done: Awaited<ReturnType<typeof store.delivery.pass>>;
    try {
      done = await store.delivery.pass({ now: t, ended, cuts: plan.cuts, ...claiming });
    } catch (err) {
      // Rolled back: nothing was recorded or claimed. The outcomes wait for the next pass;
      // the claims were never counted.
      outcomes.restore(ended);
      throw err;
    }
    outcomes.recorded(ended, done.recorded);
    outcomes.report(ended);
    const byId = new Map(hooks.map((w) => [w.id, w]));
    const claims: Claim[] = done.claims.map((c) => ({ w: byId.get(c.batch.webhook_id)!, batch: c.batch, token: c.token }));
    dispatcher.start(claims);
    const wakeAt = Math.min(t + IDLE_MS, plan.nextDueAt, done.nextDueAt ?? Infinity);
    return { recorded: ended.length, cut: done.cut.length, claimed: claims.length, wakeAt };
  }

  async function tick(): Promise<PassResult> {
    if (scheduler.running) throw new Error("engine.tick(): the loop is running; tick() drives a manual engine");
    return pass();
  }

  return {
    async start() {
      if (started) return;
      started = true;
      const released = await store.delivery.releaseLeases();
      if (released) log.info("released leases left by a previous run", { batches: released });
      if (!deps.manual) scheduler.start();
    },
    async stop() {
      await scheduler.stop();
      await dispatcher.settle();
      const ended = outcomes.take();
      if (ended.length) {
        const done = await store.delivery.pass({ now: now(), ended, cuts: [], claims: [], maxClaims: 0, leaseMs: 0 });
        outcomes.recorded(ended, done.recorded);
      }
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
