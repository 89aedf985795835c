import { desc, eq } from "drizzle-orm";
import type { Drizzle } from "./db.ts";
import type { WebhookInsert, WebhookRow } from "../rows.ts";
import { webhooks } from "./schema.ts";

export function insertWebhook(db: Drizzle, row: WebhookInsert): WebhookRow {
  return db.insert(webhooks).values(row).returning().get();
}

export function getWebhook(db: Drizzle, id: string): WebhookRow | undefined {
  return db.select().from(webhooks).where(eq(webhooks.id, id)).get();
}

// The engine lists webhooks on every pass: prepare that query once per connection.
const listQueries = new WeakMap<Drizzle, { all(): WebhookRow[] }>();

export function listWebhooks(db: Drizzle): WebhookRow[] {
  let q = listQueries.get(db);
  if (!q) {
    q = db.select().from(webhooks).orderBy(desc(webhooks.createdAt), desc(webhooks.id)).prepare();
    listQueries.set(db, q);
  }
  return q.all();
}

export function updateWebhook(db: Drizzle, id: string, patch: Partial<WebhookInsert>): WebhookRow | undefined {
  return db.update(webhooks).set(patch).where(eq(webhooks.id, id)).returning().get();
}

/** Deleting a webhook drops its batches and attempts with it (ON DELETE CASCADE). */
export function deleteWebhook(db: Drizzle, id: string): boolean {
  return db.delete(webhooks).where(eq(webhooks.id, id)).returning({ id: webhooks.id }).all().length > 0;
}
