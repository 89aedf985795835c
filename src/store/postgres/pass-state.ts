import type { WebhookRow } from "../rows.ts";
import type { PgContext } from "./context.ts";
import { fromPg, WEBHOOK_COLUMNS } from "./row-map.ts";
import { int8 } from "./values.ts";

// What a pass starts from: every webhook (newest first, as webhooks.list() orders them) and
// its count of pending batches, read by one statement, so both come from one snapshot.

const PASS_STATE = `SELECT w.*, p.n AS pending_batches
  FROM webhooks w
  LEFT JOIN (SELECT webhook_id, count(*) AS n FROM batches WHERE state = 'pending' GROUP BY webhook_id) p ON p.webhook_id = w.id
  ORDER BY w.created_at DESC, w.id DESC`;

export async function passState(ctx: PgContext): Promise<{ webhooks: WebhookRow[]; pending: Map<string, number> }> {
  const rows = (await ctx.sql.unsafe(PASS_STATE)) as (Record<string, unknown> & { id: string; pending_batches: unknown })[];
  const pending = new Map<string, number>();
  const webhooks = rows.map((r) => {
    if (r.pending_batches !== null) pending.set(r.id, int8(r.pending_batches, "pending batches"));
    return fromPg(WEBHOOK_COLUMNS, "webhooks", r);
  });
  return { webhooks, pending };
}
