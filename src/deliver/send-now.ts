import type { Event } from "../events/schema.ts";
import { newId } from "../lib/ids.ts";
import { attemptDelivery, type AttemptContext, type AttemptResult, type AttemptWebhook } from "./attempt.ts";
import { buildHookdBody } from "./formats/hookd.ts";

/**
 * One signed POST outside the queue: the test POST at create and the validate endpoint. It
 * is signed and authenticated exactly like a real batch, so a receiver that accepts it will
 * accept the real ones.
 */
export async function sendNow(ctx: AttemptContext, webhook: AttemptWebhook, events: readonly Event[], now: number): Promise<{ batchId: string; result: AttemptResult }> {
  const batchId = newId("msg_", now);
  const result = await attemptDelivery(ctx, webhook, batchId, buildHookdBody(events), now);
  return { batchId, result };
}
