import type { Event } from "../events/schema.ts";
import { newId } from "../lib/ids.ts";
import { attemptDelivery, type AttemptContext, type AttemptResult, type AttemptWebhook } from "./attempt.ts";
import { encodeBody } from "./formats/index.ts";

/**
 * One signed POST outside the queue: the test POST at create and the validate endpoint. It
 * is signed and authenticated exactly like a real batch, so a receiver that accepts it will
 * accept the real ones.
 */
export async function sendNow(
  ctx: AttemptContext,
  webhook: AttemptWebhook,
  payload: { events: readonly Event[] } | { raw: unknown },
  now: number,
): Promise<{ batchId: string; result: AttemptResult }> {
  const batchId = newId("msg_", now);
  // A given message (SparkPost's validate) goes out as it is, in whatever shape the client chose.
  const body = "raw" in payload ? new TextEncoder().encode(JSON.stringify(payload.raw)) : encodeBody(webhook.format, payload.events);
  const result = await attemptDelivery(ctx, webhook, batchId, body, now);
  return { batchId, result };
}
