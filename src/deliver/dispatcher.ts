import type { Config } from "../config/schema.ts";
import type { Logger } from "../lib/log.ts";
import type { ClaimedBatch, ClaimRequest, WebhookRow } from "../store/driver.ts";
import { attemptDelivery, type AttemptContext } from "./attempt.ts";
import type { BodyCache } from "./body-cache.ts";
import { finishAttempt, type Finished, type RetryRules } from "./outcome.ts";

// Runs claimed batches' attempts, within max_in_flight per webhook and a bound across all of
// them. A claim is a lease in the store, taken by the engine's pass from the requests made
// here; the attempt starts only once the pass that claimed it has committed.

// Attempts in flight across all webhooks; keeps a large fan-out from opening sockets without bound.
const MAX_CONCURRENT_ATTEMPTS = 256;

export type Claim = { w: WebhookRow; batch: ClaimedBatch; token: string };

/** What a pass is to claim: requests in order, the bound on them all, the lease. */
export type ClaimPlan = { claims: ClaimRequest[]; maxClaims: number; leaseMs: number };

export type Dispatcher = {
  /**
   * Claim requests for the webhooks among `hooks` that `hasBatches` and a free slot: each may
   * take as many due head batches as it has slots free, and all together at most what the
   * bound across webhooks leaves.
   */
  plan(hooks: readonly WebhookRow[], hasBatches: (id: string) => boolean): ClaimPlan;
  /** After the commit: starts the claimed attempts. */
  start(claims: readonly Claim[]): void;
  /** Attempts in flight. */
  readonly active: number;
  /** Resolves once every attempt in flight has ended and its outcome is queued. */
  settle(): Promise<void>;
};

export function createDispatcher(deps: {
  delivery: () => Config["delivery"];
  attempt: AttemptContext;
  bodies: BodyCache;
  log: Logger;
  now: () => number;
  rules: RetryRules;
  /** Every ended attempt, for the next pass to record. */
  finished: (f: Finished) => void;
  /** An attempt ended: its slot is free. */
  onSlotFree: () => void;
}): Dispatcher {
  const { delivery, log, now } = deps;
  const inflight = new Map<string, number>();
  const running = new Set<Promise<void>>();
  let total = 0;

  async function run(c: Claim, startedAt: number) {
    const body = await deps.bodies.get(c.batch);
    const result = await attemptDelivery(deps.attempt, c.w, c.batch.id, body.bytes, startedAt, body.blob);
    deps.finished(finishAttempt(c, startedAt, result, now(), deps.rules));
  }

  function start(c: Claim) {
    inflight.set(c.w.id, (inflight.get(c.w.id) ?? 0) + 1);
    total++;
    const startedAt = now();
    const p = run(c, startedAt)
      .catch((err) => {
        const message = err instanceof Error ? err.message : String(err);
        log.error("attempt crashed", { batch_id: c.batch.id, webhook_id: c.w.id, error: message });
        const at = now();
        deps.finished(finishAttempt(c, startedAt, { kind: "crashed", error: message, latencyMs: at - startedAt }, at, deps.rules));
      })
      .finally(() => {
        inflight.set(c.w.id, (inflight.get(c.w.id) ?? 1) - 1);
        total--;
        running.delete(p);
        deps.onSlotFree();
      });
    running.add(p);
  }

  return {
    plan(hooks, hasBatches) {
      const maxInFlight = delivery().max_in_flight;
      const claims: ClaimRequest[] = [];
      // Counters move in start(), after the claims are committed: a pass that rolls back
      // must leave nothing counted as in flight.
      for (const w of hooks) {
        const busy = inflight.get(w.id) ?? 0;
        if (busy >= maxInFlight || !hasBatches(w.id)) continue;
        claims.push({ webhookId: w.id, version: w.updatedAt, heads: maxInFlight, slots: maxInFlight - busy });
      }
      // The lease outlives the longest attempt (OAuth2: token, POST, token again, POST); it
      // only matters if this process dies.
      return { claims, maxClaims: Math.max(0, MAX_CONCURRENT_ATTEMPTS - total), leaseMs: 4 * delivery().timeout + 30_000 };
    },
    start(claims) {
      for (const c of claims) start(c);
    },
    get active() {
      return total;
    },
    async settle() {
      while (running.size) await Promise.allSettled([...running]);
    },
  };
}
