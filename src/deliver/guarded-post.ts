import { postBatch, type PostBatchInput, type PostBatchResult } from "./http-client.ts";
import { privateTargetReason } from "./target-guard.ts";

/** The guard refused the target (security.allow_private_targets = false): nothing was sent. */
export type RefusedTarget = { kind: "private_target"; reason: string; latencyMs: number };

export type GuardedPostResult = PostBatchResult | RefusedTarget;

/** postBatch behind the private-target guard; a refused target is a failed attempt that never connects. */
export async function guardedPost(input: PostBatchInput, allowPrivateTargets: boolean): Promise<GuardedPostResult> {
  if (!allowPrivateTargets) {
    const reason = await privateTargetReason(input.url);
    if (reason) return { kind: "private_target", reason, latencyMs: 0 };
  }
  return postBatch(input);
}
