import { postBatch, PRIVATE_TARGET, type PostBatchInput, type PostBatchResult } from "./http-client.ts";
import { privateTargetReason } from "./target-guard.ts";

/** postBatch behind the private-target guard; a refused target is a failed attempt that never connects. */
export async function guardedPost(input: PostBatchInput, allowPrivateTargets: boolean): Promise<PostBatchResult> {
  if (!allowPrivateTargets) {
    const reason = await privateTargetReason(input.url);
    if (reason) return { kind: "network", error: `${PRIVATE_TARGET}: ${reason}`, latencyMs: 0 };
  }
  return postBatch(input);
}
