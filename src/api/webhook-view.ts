import type { Database } from "bun:sqlite";
import { webhookQueue } from "../store/batches.ts";
import type { WebhookRow } from "../store/schema.ts";
import { iso } from "./routes/common.ts";
import { TXT_PREFIX, txtNames } from "../deliver/verify.ts";
import type { WebhookView } from "./schemas/webhook.ts";
import { webhookStatus } from "../webhooks/model.ts";

export const REDACTED = "********";
export const SENSITIVE_HEADER = /auth|token|secret|key|cookie|signature|password/i;


/** Queue figures for one webhook: batches cut but not delivered, plus events not yet batched. */
export function queueView(db: Database, w: WebhookRow) {
  const q = webhookQueue(db, w);
  return { queue_depth: q.depth, pending_batches: q.pendingBatches, dead_batches: q.deadBatches, oldest_pending: iso(q.oldestPendingAt) };
}

export function webhookLinks(baseUrl: string, id: string) {
  return [{ href: `${baseUrl}/api/v1/webhooks/${id}`, rel: "urn.msys.webhooks.webhook", method: ["GET", "PUT", "PATCH", "DELETE"] }];
}

/** The API's view of a webhook: every credential redacted, times as RFC 3339. */
export function webhookView(w: WebhookRow, baseUrl: string, db: Database): WebhookView {
  return {
    id: w.id,
    name: w.name,
    target: w.target,
    events: w.events,
    active: w.active,
    status: webhookStatus(w),
    auth_type: w.authType,
    ...(w.authToken ? { auth_token: REDACTED } : {}),
    ...(w.authCredentials ? { auth_credentials: { username: w.authCredentials.username, password: REDACTED } } : {}),
    ...(w.authRequestDetails
      ? { auth_request_details: { url: w.authRequestDetails.url, body: { client_id: w.authRequestDetails.body.client_id, client_secret: REDACTED } } }
      : {}),
    ...(w.customHeaders
      ? { custom_headers: Object.fromEntries(Object.entries(w.customHeaders).map(([k, v]) => [k, SENSITIVE_HEADER.test(k) ? REDACTED : v])) }
      : {}),
    format: w.format,
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
    ...queueView(db, w),
    ...(w.verification === "dns_txt" && w.verifiedAt === null && w.verificationState?.dnsToken
      ? { dns_txt_record: { names: txtNames(w.target), value: TXT_PREFIX + w.verificationState.dnsToken } }
      : {}),
    links: webhookLinks(baseUrl, w.id),
  };
}
