import type { WebhookStore } from "../contract/admin.ts";
import type { WebhookInsert, WebhookRow } from "../rows.ts";
import type { PgContext } from "./context.ts";
import { fromPg, toPg, WEBHOOK_COLUMNS } from "./row-map.ts";

// Webhooks on PostgreSQL: each method one statement. Rows come back as the SQLite driver's
// (row-map.ts): numbers, booleans, parsed JSON, null for an empty column.

const row = (raw: Record<string, unknown>): WebhookRow => fromPg(WEBHOOK_COLUMNS, "webhooks", raw);

export function webhookStore({ sql }: PgContext): WebhookStore {
  const get = async (id: string): Promise<WebhookRow | undefined> => {
    const [r] = await sql`SELECT * FROM webhooks WHERE id = ${id}`;
    return r ? row(r) : undefined;
  };
  return {
    async list() {
      // Ties (webhooks made in the same millisecond) newest id first: ids are ULIDs.
      const rows = await sql`SELECT * FROM webhooks ORDER BY created_at DESC, id COLLATE "C" DESC`;
      return rows.map(row);
    },

    get,

    async insert(w) {
      const [r] = await sql`INSERT INTO webhooks ${sql(toPg(WEBHOOK_COLUMNS, w))} RETURNING *`;
      return row(r);
    },

    async update(id, patch) {
      const { updatedAt, ...rest } = patch;
      const set = toPg<WebhookInsert>(WEBHOOK_COLUMNS, rest);
      // updatedAt is the version the engine's compare-and-set reads (contract/delivery.ts).
      // Nodes' clocks differ and two edits can share a millisecond: the version stored is the
      // one given, or one past the stored one when that is not later, so that every change
      // moves it. The row returned says which.
      const version = sql`updated_at = GREATEST(${updatedAt ?? null}::bigint, updated_at + 1)`;
      // Bun's sql(object) helper must sit in the UPDATE's own text, not in a nested fragment.
      const given = Object.keys(set).length > 0;
      let r: Record<string, unknown> | undefined;
      if (given && updatedAt !== undefined) [r] = await sql`UPDATE webhooks SET ${sql(set)}, ${version} WHERE id = ${id} RETURNING *`;
      else if (given) [r] = await sql`UPDATE webhooks SET ${sql(set)} WHERE id = ${id} RETURNING *`;
      else if (updatedAt !== undefined) [r] = await sql`UPDATE webhooks SET ${version} WHERE id = ${id} RETURNING *`;
      else return get(id);
      return r ? row(r) : undefined;
    },

    async delete(id) {
      // Its batches and attempts go with it (ON DELETE CASCADE; the body trigger frees shared bodies).
      const rows = await sql`DELETE FROM webhooks WHERE id = ${id} RETURNING id`;
      return rows.length > 0;
    },
  };
}
