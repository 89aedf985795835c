// What the shared driver suite (driver.suite.ts) needs of a driver, and its small helpers.
import type { Event } from "../../src/events/schema.ts";
import type {
  ClaimRequest,
  EndedAttempt,
  EventRows,
  Outcome,
  PassInput,
  PassOutcome,
  PlannedCut,
  Store,
  WebhookInsert,
} from "../../src/store/driver.ts";
import { eventRows } from "../../src/store/event-rows.ts";

/** One test's store: `open(node)` opens a store on it as that node (the same node twice: two connections). */
export type DriverEnv = { open(node?: string): Promise<Store> };

export type DriverSetup = {
  name: string;
  /** Whether nodes are separate machines' connections (a fleet), or connections to one file. */
  fleet: boolean;
  /** A fresh, empty, migrated store for one test; every store it opened is closed when `done` resolves. */
  fresh(): Promise<DriverEnv & { done(): Promise<void> }>;
};

export const T = 1_800_000_000_000;

/** `n` delivery events with ids `${prefix}-000001`…, as rows to store. */
export function rowsOf(n: number, prefix: string, at = T): EventRows {
  const events = Array.from(
    { length: n },
    (_, i) =>
      ({
        event_id: `${prefix}-${String(i + 1).padStart(6, "0")}`,
        type: "delivery",
        timestamp: new Date(at + i).toISOString(),
        host: "mx1",
        rcpt_to: `u${i}@example.org`,
      }) as Event,
  );
  return eventRows(events);
}

/** Runs `run` with a fresh store of `setup`, closing what it opened whatever happens. */
export function withStore(setup: DriverSetup, run: (env: DriverEnv) => Promise<void>): () => Promise<void> {
  return async () => {
    const env = await setup.fresh();
    try {
      await run(env);
    } finally {
      await env.done();
    }
  };
}

export const LEASE = 60_000;

/** A webhook that takes every event and needs no verification, at cursor 0. */
export function webhookRow(id: string, over: Partial<WebhookInsert> = {}): WebhookInsert {
  return {
    id,
    name: id,
    target: "https://hooks.example.org/in",
    events: ["*"],
    verification: "none",
    secret: "whsec_AAAA",
    createdAt: T,
    updatedAt: T,
    ...over,
  };
}

/** A pass with nothing in it but what `p` gives. */
export function pass(s: Store, p: Partial<PassInput>): Promise<PassOutcome> {
  return s.delivery.pass({ now: T, ended: [], cuts: [], claims: [], maxClaims: 100, leaseMs: LEASE, ...p });
}

/** One webhook's planned batch of the events (from, to], read by a plan at `version`. */
export function cutOf(w: { id: string; version: number }, from: number, to: number, batchId: string, now = T): PlannedCut {
  const body = new TextEncoder().encode(`[${batchId}]`);
  return {
    members: [{ webhookId: w.id, cursorSeq: from, version: w.version }],
    batches: [{ ids: [batchId], body, eventCount: to - from, firstSeq: from + 1, lastSeq: to, toSeq: to }],
    cursorTo: to,
    now,
  };
}

/** The claim request the engine makes for a webhook with `slots` free of `heads`. */
export function claimOf(w: { id: string; version: number }, slots = 1, heads = slots): ClaimRequest {
  return { webhookId: w.id, version: w.version, heads, slots };
}

/** An attempt under `claim`'s lease that ended at `at` with `outcome`. */
export function ended(
  claim: { batch: { id: string; webhook_id: string; attempts: number }; token: string },
  outcome: Outcome,
  at: number,
): EndedAttempt {
  const ok = outcome.kind === "delivered";
  return {
    record: {
      batchId: claim.batch.id,
      webhookId: claim.batch.webhook_id,
      token: claim.token,
      attempt: claim.batch.attempts,
      startedAt: at - 5,
      latencyMs: 5,
      responseCode: ok ? 200 : 500,
      failureCode: ok ? null : "http_5xx",
      responseSnippet: null,
    },
    outcome,
    at,
  };
}
