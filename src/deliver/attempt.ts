import type { WebhookRow } from "../store/driver.ts";
import { guardedPost, type GuardedPostResult, type GuardOptions } from "./guarded-post.ts";
import { failureCode, toRetryOutcome } from "./http-client.ts";
import type { OAuth2Tokens } from "./oauth2.ts";
import { requestHeaders } from "./request.ts";
import { classifyOutcome, type RetryOutcome } from "./retry-policy.ts";

// One delivery attempt of one body to one webhook, whoever asks for it (the engine, the
// test POST at create, the validate endpoint): headers, signature, receiver auth, the
// private-target guard, and OAuth2's "refetch once on 401".

export type AttemptContext = {
  version: string;
  timeoutMs: number;
  allowPrivateTargets: boolean;
  tokens: OAuth2Tokens;
  /** How the private-target guard resolves names (tests: their DNS server); default the system's. */
  guard?: GuardOptions;
};

export type AttemptWebhook = Pick<
  WebhookRow,
  | "id"
  | "target"
  | "format"
  | "secret"
  | "previousSecret"
  | "previousSecretUntil"
  | "authType"
  | "authToken"
  | "authCredentials"
  | "authRequestDetails"
  | "customHeaders"
  | "signingPrivateKey"
  | "ecdsaSigned"
> &
  // Only the sfmc format signs with it; callers that build a webhook of another format leave it out.
  Partial<Pick<WebhookRow, "sfmcSignatureKey">>;

export type AttemptResult = GuardedPostResult | { kind: "auth"; failureCode: string; detail: string; latencyMs: number };

/**
 * `sent` is what goes on the wire: the same bytes, as a Blob when many webhooks send one body
 * (the engine's fan-out), so that no request copies it.
 */
export async function attemptDelivery(
  ctx: AttemptContext,
  w: AttemptWebhook,
  batchId: string,
  body: Uint8Array<ArrayBuffer>,
  nowMs: number,
  sent: Uint8Array<ArrayBuffer> | Blob = body,
): Promise<AttemptResult> {
  const headers = requestHeaders(w, batchId, body, nowMs, ctx.version);
  const post = () => guardedPost({ url: w.target, body: sent, headers, timeoutMs: ctx.timeoutMs }, ctx.allowPrivateTargets, ctx.guard);
  if (w.authType !== "oauth2" || !w.authRequestDetails) return post();

  const details = w.authRequestDetails;
  const started = performance.now();
  for (let refetched = false; ; refetched = true) {
    const t = await ctx.tokens.get(w.id, details);
    if (!t.ok) return { kind: "auth", failureCode: t.failureCode, detail: t.detail, latencyMs: Math.round(performance.now() - started) };
    headers["authorization"] = `Bearer ${t.token}`;
    const r = await post();
    if (r.kind === "response" && r.status === 401 && !refetched) {
      ctx.tokens.invalidate(w.id, details);
      continue;
    }
    return r;
  }
}

/** The receiver took it: a 2xx, and nothing else. */
export function succeeded(r: AttemptResult): boolean {
  return r.kind === "response" && classifyOutcome(r.status) === "delivered";
}

export function attemptFailureCode(r: AttemptResult): string | null {
  if (r.kind === "auth") return r.failureCode;
  return r.kind === "private_target" ? "private_target" : failureCode(r);
}

export function attemptRetryOutcome(r: AttemptResult): RetryOutcome {
  return r.kind === "auth" || r.kind === "private_target" ? { kind: "network" } : toRetryOutcome(r);
}

export function describeAttempt(r: AttemptResult): string {
  if (r.kind === "response") return `the receiver answered HTTP ${r.status}`;
  if (r.kind === "timeout") return `the receiver did not answer within the timeout (${r.latencyMs} ms)`;
  if (r.kind === "auth") return `no OAuth2 token: ${r.detail}`;
  if (r.kind === "private_target") return r.reason;
  return `the request failed: ${r.error}`;
}
