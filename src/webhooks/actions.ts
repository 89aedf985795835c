import type { AttemptResult } from "../deliver/attempt.ts";
import { batchLimits } from "../deliver/subscription.ts";
import { replayEvents } from "../deliver/replay.ts";
import { sendNow } from "../deliver/send-now.ts";
import { ServiceError } from "../lib/errors.ts";
import type { WebhookRow } from "../store/driver.ts";
import { requireWebhook, type WebhookDeps } from "./context.ts";
import { testSamples } from "./test-samples.ts";

// What an operator does to a webhook's deliveries besides editing it: send to it now, push
// its dead letters again, replay history.

// A replay runs while the store is locked for it: bound it, and let large ones be split.
export const MAX_REPLAY_EVENTS = 1_000_000;
const MAX_SAMPLE_TYPES = 5;
// "Check all" sends to every webhook; a few at a time, so a long list of slow receivers
// neither opens a connection per webhook at once nor takes one timeout per webhook in turn.
export const VALIDATE_ALL_CONCURRENCY = 4;

/**
 * One signed POST now, outside the queue: the given message as it is (SparkPost's
 * validate), or samples of the first types the webhook subscribes to and its format sends.
 */
export async function sendTest(deps: WebhookDeps, id: string, opts: { message?: unknown } = {}): Promise<AttemptResult> {
  return sendTestTo(deps, await requireWebhook(deps, id), opts);
}

async function sendTestTo(deps: WebhookDeps, w: WebhookRow, opts: { message?: unknown } = {}): Promise<AttemptResult> {
  const now = deps.now();
  const samples = testSamples(w, { host: deps.hostname, now }, MAX_SAMPLE_TYPES);
  const { result } = await sendNow(deps.attempt, w, opts.message !== undefined ? { raw: opts.message } : { events: samples }, now);
  return result;
}

/**
 * "Check now": sendTest to every webhook (newest first, as listed), VALIDATE_ALL_CONCURRENCY
 * at a time; one result each, in the list's order.
 */
export async function validateAll(deps: WebhookDeps): Promise<{ webhook: WebhookRow; result: AttemptResult }[]> {
  const hooks = await deps.store.webhooks.list();
  const out: { webhook: WebhookRow; result: AttemptResult }[] = new Array(hooks.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < hooks.length; i = next++) out[i] = { webhook: hooks[i]!, result: await sendTestTo(deps, hooks[i]!) };
  };
  await Promise.all(Array.from({ length: Math.min(VALIDATE_ALL_CONCURRENCY, hooks.length) }, worker));
  return out;
}

/** Queues the webhook's dead-lettered batches (all, or those named) again, now; how many. */
export async function retryDead(deps: WebhookDeps, id: string, batchIds?: readonly string[]): Promise<number> {
  const w = await requireWebhook(deps, id);
  const requeued = await deps.store.delivery.requeueDead(w.id, deps.now(), batchIds);
  if (requeued) deps.log.info("dead-lettered batches requeued", { webhook_id: w.id, batches: requeued });
  deps.notifyEvents();
  return requeued;
}

/** Stored events with since ≤ timestamp < until (default: now), optionally only some types. */
export type ReplayInput = { since: number; until?: number | undefined; types?: readonly string[] | undefined };

/**
 * Queues stored events of a time range again as new batches (events keep their event_id),
 * unless the webhook's replays waiting with these would pass delivery.replay_max_pending.
 */
export async function replay(deps: WebhookDeps, id: string, input: ReplayInput): Promise<{ batches: number; events: number }> {
  const w = await requireWebhook(deps, id);
  const now = deps.now();
  const since = input.since;
  const until = input.until ?? now + 1;
  if (until <= since) throw new ServiceError({ message: "until: must be after since", field: "until", code: "invalid_value" });
  const inRange = await deps.store.replay.countInRange(since, until);
  if (inRange > MAX_REPLAY_EVENTS) {
    throw new ServiceError({
      message: `the range holds ${inRange} events; replay at most ${MAX_REPLAY_EVENTS} at a time (narrow since/until)`,
      field: "until",
      code: "too_big",
    });
  }
  // Each replay stores its events again as new batches: bound what replays may queue for
  // one webhook, or repeated replays to a slow or dead receiver grow the store without end.
  const waiting = await deps.store.replay.backlog(w.id);
  const maxPending = deps.config.delivery.replay_max_pending;
  if (waiting + inRange > maxPending) {
    throw new ServiceError({
      message: `${waiting} events from earlier replays are still waiting for this webhook (pending or dead-lettered) and the range holds ${inRange}; at most ${maxPending} may wait (delivery.replay_max_pending): wait until they are delivered, delete dead ones, or narrow since/until`,
      field: "since",
      code: "conflict",
    });
  }
  const r = await replayEvents(deps.store, w, { since, until, types: input.types }, batchLimits(w, deps.config.delivery), now);
  deps.log.info("replay queued", {
    webhook_id: w.id,
    since: new Date(since).toISOString(),
    until: new Date(until).toISOString(),
    batches: r.batches,
    events: r.events,
  });
  deps.notifyEvents();
  return r;
}
