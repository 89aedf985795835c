import type { SQL } from "bun";
import { isEventType } from "../../events/schema.ts";
import type { QueueFigures } from "../contract/views.ts";
import { int8, int8OrNull } from "./values.ts";

// Each webhook's queue (contract/views.ts QueueFigures), as sqlite/batch-views.ts webhookQueue
// computes it, for every webhook asked in one statement (one snapshot): its pending and dead
// batches, and the events after its cursor that it subscribes to by type or custom name (its
// filter not applied: an upper bound).

type Asked = { id: string; cursorSeq: number; events: readonly string[] };

export async function queueFigures(sql: SQL, webhooks: readonly Asked[]): Promise<QueueFigures[]> {
  if (webhooks.length === 0) return [];
  // Bound as one json value (Bun encodes it; the cast names the type): a list of lists does not
  // fit Bun's array parameters.
  const asked = webhooks.map((w) => ({
    id: w.id,
    cursor: w.cursorSeq,
    all: w.events.includes("*"),
    types: w.events.filter(isEventType),
    names: w.events.filter((t) => t !== "*" && !isEventType(t)),
  }));
  const rows = await sql`
    WITH w AS (
      SELECT i, x->>'id' AS id, (x->>'cursor')::bigint AS cursor, (x->>'all')::boolean AS all_types,
             ARRAY(SELECT json_array_elements_text(x->'types')) AS types,
             ARRAY(SELECT json_array_elements_text(x->'names')) AS names
      FROM json_array_elements(${asked}::json) WITH ORDINALITY AS a(x, i)
    )
    SELECT w.i, q.pending_batches, q.pending_events, q.dead_batches, q.oldest_batch, e.events, e.oldest_event
    FROM w
    CROSS JOIN LATERAL (
      SELECT count(*) FILTER (WHERE state = 'pending') AS pending_batches,
             COALESCE(sum(event_count) FILTER (WHERE state = 'pending'), 0) AS pending_events,
             count(*) FILTER (WHERE state = 'dead') AS dead_batches,
             min(created_at) FILTER (WHERE state = 'pending') AS oldest_batch
      FROM batches WHERE webhook_id = w.id AND state IN ('pending', 'dead')
    ) q
    CROSS JOIN LATERAL (
      SELECT count(*) AS events, min(received_at) AS oldest_event FROM events
      WHERE seq > w.cursor AND (w.all_types OR type = ANY(w.types) OR custom_type = ANY(w.names))
    ) e
    ORDER BY w.i`;
  return (rows as Record<string, unknown>[]).map((r) => {
    const oldest = [int8OrNull(r.oldest_batch, "oldest pending batch"), int8OrNull(r.oldest_event, "oldest waiting event")].filter(
      (x): x is number => x !== null,
    );
    return {
      depth: int8(r.pending_events, "pending batches' events") + int8(r.events, "waiting events"),
      pendingBatches: int8(r.pending_batches, "pending batches"),
      deadBatches: int8(r.dead_batches, "dead batches"),
      oldestPendingAt: oldest.length ? Math.min(...oldest) : null,
    };
  });
}
