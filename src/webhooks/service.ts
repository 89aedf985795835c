import { ulid } from "ulid";
import { ServiceError, type ErrorItem } from "../lib/errors.ts";
import type { WebhookRow } from "../store/driver.ts";
import { checkWebhook, customTypeIssues, userinfoIssues } from "./checks.ts";
import { requireWebhook, webhookNotFound, type WebhookDeps } from "./context.ts";
import { keepRedacted, requireFreshCredentials } from "./credentials.ts";
import { isCustomTypeName, newColumns, toColumns, type WebhookCreateInput, type WebhookUpdateInput } from "./fields.ts";
import { newWebhookKeys } from "./secrets.ts";
import { beginVerification, type PendingVerification } from "./verification.ts";

// A webhook's life: create, change, delete. Every caller (the REST API, SendGrid's API)
// comes through here with input its own schema has validated; what a webhook must be is
// decided here and nowhere else. Failures are ServiceErrors naming the field.

export { requireWebhook as getWebhook } from "./context.ts";

function throwIssues(issues: ErrorItem[]): void {
  if (issues.length) throw new ServiceError(issues);
}

/** Newest first. */
export function listWebhooks(deps: Pick<WebhookDeps, "store">): Promise<WebhookRow[]> {
  return deps.store.webhooks.list();
}

export type CreatedWebhook = { webhook: WebhookRow; pending: PendingVerification | null };

/**
 * Checks, verifies (test_post: the target must take a signed sample now, or nothing is
 * stored) and stores a new webhook. It receives events from now on: its cursor starts at
 * the newest stored event. `webhook.secret` is the only time the caller sees the secret.
 */
export async function createWebhook(deps: WebhookDeps, input: WebhookCreateInput): Promise<CreatedWebhook> {
  const now = deps.now();
  const candidate = {
    ...newColumns(input),
    id: ulid(now).toLowerCase(),
    ...newWebhookKeys(),
    cursorSeq: await deps.store.events.maxSeq(),
    createdAt: now,
    updatedAt: now,
  };
  await requireKnownCustomTypes(deps, input.events, []);
  throwIssues(userinfoIssues(candidate));
  await checkWebhook(candidate, deps.config.security.allow_private_targets);
  const { patch, pending } = await beginVerification(deps, candidate);
  const webhook = await deps.store.webhooks.insert({ ...candidate, ...patch });
  deps.notifyEvents();
  // The origin only: a target URL may carry credentials in its userinfo or query.
  deps.log.info("webhook created", {
    webhook_id: webhook.id,
    target: new URL(webhook.target).origin,
    events: webhook.events,
    verification: webhook.verification,
  });
  return { webhook, pending };
}

/**
 * Changes the fields given. Credentials sent back REDACTED stay as stored; moving the
 * target to another origin needs them again; a new target or way of verifying must prove
 * itself again (test_post: before anything is stored).
 */
export async function updateWebhook(deps: WebhookDeps, id: string, input: WebhookUpdateInput): Promise<WebhookRow> {
  const current = await requireWebhook(deps, id);
  const sent = toColumns(input);
  throwIssues(userinfoIssues(sent));
  requireFreshCredentials(sent, current);
  const patch = keepRedacted(sent, current);
  const merged: WebhookRow = { ...current, ...patch };
  if (input.events) await requireKnownCustomTypes(deps, input.events, current.events);
  await checkWebhook(merged, deps.config.security.allow_private_targets);
  const targetChanged = patch.target !== undefined && patch.target !== current.target;
  const verificationChanged = patch.verification !== undefined && patch.verification !== current.verification;
  if (targetChanged || verificationChanged) Object.assign(patch, (await beginVerification(deps, merged)).patch);
  const saved = await deps.store.webhooks.update(id, { ...patch, updatedAt: deps.now() });
  if (!saved) throw webhookNotFound(id);
  deps.notifyEvents();
  deps.log.info("webhook updated", { webhook_id: id, fields: Object.keys(input) });
  return saved;
}

/** Deletes the webhook; its batches and attempts go with it. */
export async function deleteWebhook(deps: Pick<WebhookDeps, "store" | "log">, id: string): Promise<void> {
  if (!(await deps.store.webhooks.delete(id))) throw webhookNotFound(id);
  deps.log.info("webhook deleted", { webhook_id: id });
}

/**
 * Custom event names a webhook newly subscribes to (not in `before`) must be declared in the
 * config or seen in POST /events; names it already had stay valid when the config changes.
 */
async function requireKnownCustomTypes(
  deps: Pick<WebhookDeps, "store" | "config">,
  events: readonly string[],
  before: readonly string[],
): Promise<void> {
  const isNew = (e: string) => !before.includes(e);
  if (!events.some((e) => isCustomTypeName(e) && isNew(e))) return;
  const known = new Set([...deps.config.events.custom_types, ...(await deps.store.events.customTypes())]);
  const issues = customTypeIssues(events, isNew, known);
  if (issues.length) throw new ServiceError(issues);
}
