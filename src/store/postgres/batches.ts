import type { ClaimedBatch } from "../contract/delivery.ts";
import { lightWrite } from "./batches-sql.ts";
import type { PgContext } from "./context.ts";

// A claimed batch's body, and dead batches put back in the queue.

const EMPTY = new Uint8Array(0);

/** Its shared body, or (batches from before bodies were shared) its own. */
export async function batchBody(ctx: PgContext, b: Pick<ClaimedBatch, "id" | "body_id">): Promise<Uint8Array> {
  const [row] =
    b.body_id === null
      ? await ctx.sql`SELECT body FROM batches WHERE id = ${b.id}`
      : await ctx.sql`SELECT body FROM batch_bodies WHERE id = ${b.body_id}`;
  return (row as { body: Uint8Array } | undefined)?.body ?? EMPTY;
}

/** Dead batches (all, or those named) back to pending now, with a fresh retry_for window; how many. */
export function requeueDead(ctx: PgContext, webhookId: string, now: number, batchIds?: readonly string[]): Promise<number> {
  return lightWrite(ctx, async (sql) => {
    const r = batchIds?.length
      ? await sql`UPDATE batches SET state = 'pending', next_attempt_at = ${now}, first_attempt_at = NULL, done_at = NULL
          WHERE webhook_id = ${webhookId} AND state = 'dead' AND id = ANY(${sql.array([...batchIds], "TEXT")}::text[])`
      : await sql`UPDATE batches SET state = 'pending', next_attempt_at = ${now}, first_attempt_at = NULL, done_at = NULL
          WHERE webhook_id = ${webhookId} AND state = 'dead'`;
    return r.count;
  });
}
