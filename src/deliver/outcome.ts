import type { Logger } from "../lib/log.ts";
import type { ClaimedBatch, EndedAttempt, Outcome } from "../store/driver.ts";
import { attemptFailureCode, attemptRetryOutcome, succeeded, type AttemptResult } from "./attempt.ts";
import { nextRetryDelay, shouldDeadLetter, type RetryOutcome, type RetryPolicy } from "./retry-policy.ts";

// An ended attempt becomes its attempts row and its consequence for the batch (delivered,
// retry at, dead), in one place whatever the ending. They wait here for the engine's next
// pass, which records them all in its transaction (DeliveryStore.pass): one fsync for every
// attempt that finished meanwhile. Until then the batch stays leased; a crash before that
// resends it.

/** How an attempt ended: what the receiver, the target guard or OAuth2 said, or a bug in hookd. */
export type AttemptEnd = AttemptResult | { kind: "crashed"; error: string; latencyMs: number };

/** What was attempted: a claimed batch of a webhook, under its lease token. */
export type AttemptClaim = { w: { id: string }; batch: ClaimedBatch; token: string };

export type RetryRules = { readonly policy?: Partial<RetryPolicy>; readonly random: () => number; readonly retryForMs: number };

/** An ended attempt; `recorded` once a pass has said whether its lease still held. */
export type Finished = EndedAttempt & { recorded?: boolean };

const SNIPPET_CHARS = 512;

/** Delivered on a 2xx; otherwise the next try, or the dead letter when retry_for is used up. */
export function decide(
  b: Pick<ClaimedBatch, "attempts" | "first_attempt_at">,
  delivered: boolean,
  retry: RetryOutcome,
  at: number,
  rules: RetryRules,
): Outcome {
  if (delivered) return { kind: "delivered" };
  const delay = nextRetryDelay({ attempt: b.attempts, outcome: retry, policy: rules.policy, random: rules.random, nowMs: at });
  return shouldDeadLetter({ firstAttemptAtMs: b.first_attempt_at, nowMs: at, nextDelayMs: delay, retryForMs: rules.retryForMs })
    ? { kind: "dead" }
    : { kind: "retry", nextAttemptAt: at + delay };
}

/** The attempts row and the batch's consequence of one attempt, started at `startedAt`, that ended at `at`. */
export function finishAttempt(c: AttemptClaim, startedAt: number, end: AttemptEnd, at: number, rules: RetryRules): Finished {
  // A crash is a bug, not the receiver: still an attempt, so retry_for ends it like any other.
  const crashed = end.kind === "crashed";
  return {
    record: {
      batchId: c.batch.id,
      webhookId: c.w.id,
      token: c.token,
      attempt: c.batch.attempts,
      startedAt,
      latencyMs: end.latencyMs,
      responseCode: end.kind === "response" ? end.status : null,
      failureCode: crashed ? "internal_error" : attemptFailureCode(end),
      responseSnippet: snippet(end)?.slice(0, SNIPPET_CHARS) ?? null,
    },
    outcome: decide(c.batch, !crashed && succeeded(end), crashed ? { kind: "network" } : attemptRetryOutcome(end), at, rules),
    at,
  };
}

function snippet(end: AttemptEnd): string | null {
  switch (end.kind) {
    case "response":
      return end.bodySnippet;
    case "network":
    case "crashed":
      return end.error;
    case "private_target":
      return end.reason;
    case "auth":
      return end.detail;
    case "timeout":
      return null;
  }
}

export type AttemptReport = { webhookId: string; batchId: string; outcome: Outcome["kind"]; status: number | null; latencyMs: number };

/** Ended attempts waiting for the next pass. */
export type OutcomeQueue = {
  push(f: Finished): void;
  readonly size: number;
  /** Empties the queue: the pass records them, restore() them if it rolls back. */
  take(): Finished[];
  /** What the pass said of each (DeliveryStore.pass's `recorded`, in order). */
  recorded(taken: readonly Finished[], recorded: readonly boolean[]): void;
  restore(taken: readonly Finished[]): void;
  /** After the commit: logs and onAttempt for each. */
  report(taken: readonly Finished[]): void;
};

export function createOutcomeQueue(log: Logger, onAttempt?: (a: AttemptReport) => void): OutcomeQueue {
  let waiting: Finished[] = [];
  return {
    push(f) {
      waiting.push(f);
    },
    get size() {
      return waiting.length;
    },
    take() {
      const taken = waiting;
      waiting = [];
      return taken;
    },
    recorded(taken, recorded) {
      taken.forEach((f, i) => (f.recorded = recorded[i]));
    },
    restore(taken) {
      waiting = taken.concat(waiting);
    },
    report(taken) {
      for (const { record: a, outcome, recorded } of taken) {
        if (!recorded) log.warn("attempt outcome dropped: batch no longer claimed", { batch_id: a.batchId, webhook_id: a.webhookId });
        else if (outcome.kind === "dead")
          log.warn("batch dead-lettered", {
            batch_id: a.batchId,
            webhook_id: a.webhookId,
            attempts: a.attempt,
            failure_code: a.failureCode,
          });
        else if (outcome.kind === "retry")
          log.info("attempt failed; will retry", {
            batch_id: a.batchId,
            webhook_id: a.webhookId,
            attempt: a.attempt,
            failure_code: a.failureCode,
          });
        onAttempt?.({ webhookId: a.webhookId, batchId: a.batchId, outcome: outcome.kind, status: a.responseCode, latencyMs: a.latencyMs });
      }
    },
  };
}
