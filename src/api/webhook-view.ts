import type { Database } from "bun:sqlite";
import { backlog, queueStats } from "../store/batches.ts";
import type { WebhookRow } from "../store/schema.ts";
import { iso } from "./routes/common.ts";
import { TXT_PREFIX, txtNames } from "../deliver/verify.ts";
import type { WebhookView } from "./schemas/webhook.ts";

export const REDACTED = "********";
export const SENSITIVE_HEADER = /auth|token|secret|key|cookie|signature|password/i;

// One failed attempt is a blip; a streak means the receiver is down or rejecting us.
export const FAILING_AFTER_ATTEMPTS = 3;

export function webhookStatus(w: WebhookRow): WebhookView["status"] {
  if (w.verification !== "test_post" && w.verification !== "none" && w.verifiedAt === null) return "pending_verification";
  if (!w.active) return "inactive";
  if (w.consecutiveFailures >= FAILING_AFTER_ATTEMPTS) return "failing";
  return "active";
}

/** Queue figures for one webhook: batches cut but not delivered, plus events not yet batched. */
export function queueView(db: Database, w: WebhookRow) {
  const q = queueStats(db, w.id);
  const b = backlog(db, w.cursorSeq, w.events);
  const oldest = [q.oldestPendingAt, b.oldestReceivedAt].filter((x): x is number => x !== null);
  return {
    queue_depth: q.pendingBatchEvents + b.events,
    pending_batches: q.pendingBatches,
    dead_batches: q.deadBatches,
    oldest_pending: oldest.length ? iso(Math.min(...oldest)) : null,
  };
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
    auth_type: w.authType as WebhookView["auth_type"],
    ...(w.authToken ? { auth_token: REDACTED } : {}),
    ...(w.authCredentials ? { auth_credentials: { username: w.authCredentials.username, password: REDACTED } } : {}),
    ...(w.authRequestDetails
      ? { auth_request_details: { url: w.authRequestDetails.url, body: { client_id: w.authRequestDetails.body.client_id, client_secret: REDACTED } } }
      : {}),
    ...(w.customHeaders
      ? { custom_headers: Object.fromEntries(Object.entries(w.customHeaders).map(([k, v]) => [k, SENSITIVE_HEADER.test(k) ? REDACTED : v])) }
      : {}),
    format: w.format as WebhookView["format"],
    verification: w.verification as WebhookView["verification"],
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
