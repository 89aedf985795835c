import { attemptFailureCode, describeAttempt, succeeded, type AttemptResult } from "../deliver/attempt.ts";
import type { BatchStatusRow, QueueFigures, Store, WebhookRow } from "../store/driver.ts";
import { readerCredentials, redactedCredentials } from "../webhooks/credentials.ts";
import { webhookStatus } from "../webhooks/model.ts";
import { pendingTxtRecord, type PendingVerification } from "../webhooks/verification.ts";
import { iso } from "./routes/common.ts";
import type { WebhookCreated, WebhookView } from "./schemas/webhook.ts";
import type { BatchStatus, ValidateResult } from "./schemas/webhook-actions.ts";

// The REST API's shapes of a webhook: SparkPost's field names, times as RFC 3339, links
// from the request's own origin. Which values are secret is the webhooks module's call.

export function baseUrl(url: string): string {
  return new URL(url).origin;
}

/** Queue figures for one webhook: batches cut but not delivered, plus events not yet batched. */
export function queueView(q: QueueFigures) {
  return { queue_depth: q.depth, pending_batches: q.pendingBatches, dead_batches: q.deadBatches, oldest_pending: iso(q.oldestPendingAt) };
}

export function webhookLinks(baseUrl: string, id: string) {
  return [{ href: `${baseUrl}/api/v1/webhooks/${id}`, rel: "urn.msys.webhooks.webhook", method: ["GET", "PUT", "PATCH", "DELETE"] }];
}

/**
 * The API's view of a webhook: every credential redacted, times as RFC 3339. A key that
 * may not write webhooks (`canWrite` false) also sees no custom header value and no
 * userinfo or query values in the URLs. `queue`: its figures (webhookViews reads them).
 */
export function webhookView(w: WebhookRow, queue: QueueFigures, baseUrl: string, canWrite: boolean): WebhookView {
  const shown = canWrite ? { ...redactedCredentials(w), target: w.target } : readerCredentials(w);
  const txt = pendingTxtRecord(w);
  return {
    id: w.id,
    name: w.name,
    target: shown.target,
    events: w.events,
    active: w.active,
    status: webhookStatus(w),
    auth_type: w.authType,
    ...(shown.authToken ? { auth_token: shown.authToken } : {}),
    ...(shown.authCredentials ? { auth_credentials: shown.authCredentials } : {}),
    ...(shown.authRequestDetails ? { auth_request_details: shown.authRequestDetails } : {}),
    ...(shown.customHeaders ? { custom_headers: shown.customHeaders } : {}),
    format: w.format,
    ecdsa_signed: w.ecdsaSigned,
    verification: w.verification,
    batch_max_events: w.batchMaxEvents,
    batch_max_bytes: w.batchMaxBytes,
    batch_max_wait: w.batchMaxWait,
    filter: w.filter ?? null,
    created: iso(w.createdAt)!,
    updated: iso(w.updatedAt)!,
    last_successful: iso(w.lastSuccessAt),
    last_failure: iso(w.lastFailureAt),
    last_failure_code: w.lastFailureCode,
    ...queueView(queue),
    ...(txt ? { dns_txt_record: txt } : {}),
    links: webhookLinks(baseUrl, w.id),
  };
}

/** The API's views of webhooks, their queue figures read in one call. */
export async function webhookViews(store: Store, ws: readonly WebhookRow[], baseUrl: string, canWrite: boolean): Promise<WebhookView[]> {
  const queues = await store.views.queues(ws);
  return ws.map((w, i) => webhookView(w, queues[i]!, baseUrl, canWrite));
}

/** POST /webhooks' answer: the id, links, the secret (shown only here) and what completes a pending verification. */
export function createdView(w: WebhookRow, pending: PendingVerification | null, baseUrl: string): WebhookCreated {
  const verification = pending && {
    type: pending.type,
    status: "pending_verification" as const,
    ...(pending.txtRecord ? { txt_record: pending.txtRecord } : {}),
  };
  // SFMC shows a callback's signature key only when the callback is created; so does hookd.
  const signatureKey = w.format === "sfmc" && w.sfmcSignatureKey ? { signature_key: w.sfmcSignatureKey } : {};
  return { id: w.id, links: webhookLinks(baseUrl, w.id), secret: w.secret, ...signatureKey, ...(verification ? { verification } : {}) };
}

/** POST …/validate's answer: what the receiver said, in SparkPost's words. */
export function validateView(result: AttemptResult): ValidateResult {
  const response = result.kind === "response" ? result : null;
  return {
    msg: succeeded(result) ? "Test POST to webhook succeeded" : `Test POST to webhook failed: ${describeAttempt(result)}`,
    response: { status: response?.status ?? null, headers: response?.headers ?? {}, body: response?.bodySnippet ?? "" },
    latency_ms: result.latencyMs,
    failure_code: attemptFailureCode(result),
  };
}

/** One row of GET …/batch-status. */
export function batchStatusView(r: BatchStatusRow): BatchStatus {
  return {
    batch_id: r.id,
    ts: iso(r.last_attempt_at ?? r.created_at)!,
    attempts: r.attempts,
    response_code: r.last_response_code === null ? null : String(r.last_response_code),
    failure_code: r.last_failure_code,
    state: r.state as BatchStatus["state"],
    kind: r.kind as BatchStatus["kind"],
    events: r.event_count,
    bytes: r.bytes,
    next_attempt: r.state === "pending" ? iso(r.next_attempt_at) : null,
  };
}
