import { ulid } from "ulid";
import type { Event } from "../events/schema.ts";
import type { WebhookRow } from "../store/schema.ts";
import { buildHookdBody } from "./formats/hookd.ts";
import { guardedPost } from "./guarded-post.ts";
import { PRIVATE_TARGET, type PostBatchResult } from "./http-client.ts";
import { requestHeaders } from "./request.ts";

export type SendNowInput = {
  webhook: Pick<WebhookRow, "target" | "secret" | "previousSecret" | "previousSecretUntil" | "authType" | "authToken" | "authCredentials" | "customHeaders">;
  events: readonly Event[];
  timeoutMs: number;
  version: string;
  now: number;
  allowPrivateTargets: boolean;
};

/**
 * One signed POST outside the queue: the test POST at create and the validate endpoint. It
 * is signed and authenticated exactly like a real batch, so a receiver that accepts it will
 * accept the real ones.
 */
export async function sendNow(input: SendNowInput): Promise<{ batchId: string; result: PostBatchResult }> {
  const batchId = "msg_" + ulid(input.now).toLowerCase();
  const body = buildHookdBody(input.events);
  const headers = requestHeaders(input.webhook, batchId, body, input.now, input.version);
  const result = await guardedPost({ url: input.webhook.target, body, headers, timeoutMs: input.timeoutMs }, input.allowPrivateTargets);
  return { batchId, result };
}

export function describeResult(r: PostBatchResult): string {
  if (r.kind === "response") return `the receiver answered HTTP ${r.status}`;
  if (r.kind === "timeout") return `the receiver did not answer within the timeout (${r.latencyMs} ms)`;
  return r.error.startsWith(PRIVATE_TARGET) ? r.error.slice(PRIVATE_TARGET.length + 2) : `the request failed: ${r.error}`;
}
