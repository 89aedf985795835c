import type { Database } from "bun:sqlite";
import type { Config } from "../config/schema.ts";
import { newId } from "../lib/ids.ts";
import type { Logger } from "../lib/log.ts";
import { claimBatch, headBatches, type ClaimedBatch } from "../store/batches.ts";
import type { WebhookRow } from "../store/schema.ts";
import { attemptDelivery, type AttemptContext } from "./attempt.ts";
import type { BodyCache } from "./body-cache.ts";
import { finishAttempt, type Finished, type RetryRules } from "./outcome.ts";

// Claims due batches and runs their attempts, within max_in_flight per webhook and a bound
// across all of them. A claim is a lease in the store; the attempt starts only once the
// pass that claimed it has committed.

// Attempts in flight across all webhooks; keeps a large fan-out from opening sockets without bound.
const MAX_CONCURRENT_ATTEMPTS = 256;

export type Claim = { w: WebhookRow; batch: ClaimedBatch; token: string };

export type Dispatcher = {
  /**
   * Inside the pass's transaction: claims what is due for one webhook, appending to `claims`;
   * returns when its next batch that is waiting for a retry falls due (null: none).
   */
  claimDue(w: WebhookRow, t: number, claims: Claim[]): number | null;
  /** After the commit: starts the claimed attempts. */
  start(claims: readonly Claim[]): void;
  /** Attempts in flight. */
  readonly active: number;
  /** Resolves once every attempt in flight has ended and its outcome is queued. */
  settle(): Promise<void>;
};

export function createDispatcher(deps: {
  db: Database;
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
  const { db, delivery, log, now } = deps;
  const inflight = new Map<string, number>();
  const running = new Set<Promise<void>>();
  let total = 0;

  async function run(c: Claim, startedAt: number) {
    const body = deps.bodies.get(c.batch);
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
    claimDue(w, t, claims) {
      const maxInFlight = delivery().max_in_flight;
      let nextDue: number | null = null;
      // Counters move in start(), after the claims are committed: a pass that rolls back
      // must leave nothing counted as in flight.
      let busy = inflight.get(w.id) ?? 0;
      if (busy >= maxInFlight) return null;
      for (const h of headBatches(db, w.id, maxInFlight)) {
        if (busy >= maxInFlight || total + claims.length >= MAX_CONCURRENT_ATTEMPTS) break;
        if (h.lease_until !== null && h.lease_until >= t) continue;
        if (h.next_attempt_at > t) {
          nextDue = nextDue === null ? h.next_attempt_at : Math.min(nextDue, h.next_attempt_at);
          continue;
        }
        const token = newId("", t);
        // The lease outlives the longest attempt (OAuth2: token, POST, token again, POST); it
        // only matters if this process dies.
        const batch = claimBatch(db, h.id, token, t, 4 * delivery().timeout + 30_000);
        if (!batch) continue;
        busy++;
        claims.push({ w, batch, token });
      }
      return nextDue;
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
