import type { AttemptRow, BatchStatusRow, ViewStore } from "../contract/views.ts";
import type { PgContext } from "./context.ts";
import { int8, int8OrNull } from "./values.ts";
import { queueFigures } from "./views-queues.ts";

// What the API, the admin page and /metrics read about deliveries, on PostgreSQL: rows as the
// SQLite driver returns them (sqlite/batch-views.ts: snake_case, numbers, the same key order),
// each method one statement. A webhook's batches are ordered by ord, the order they were cut
// in across the fleet (migrations/0012-fleet.ts), where SQLite orders by (created_at, id):
// one node's clock behind another's must not reorder the list.

type Raw = Record<string, unknown>;
type BatchWithFirst = BatchStatusRow & { first_attempt_at: number | null };

function batchRow(r: Raw): BatchStatusRow {
  return {
    id: r.id as string,
    kind: r.kind as string,
    state: r.state as string,
    event_count: r.event_count as number,
    bytes: int8(r.bytes, "batches.bytes"),
    created_at: int8(r.created_at, "batches.created_at"),
    attempts: r.attempts as number,
    last_attempt_at: int8OrNull(r.last_attempt_at, "batches.last_attempt_at"),
    next_attempt_at: int8(r.next_attempt_at, "batches.next_attempt_at"),
    last_response_code: r.last_response_code as number | null,
    last_failure_code: r.last_failure_code as string | null,
    done_at: int8OrNull(r.done_at, "batches.done_at"),
  };
}

/** With first_attempt_at where SQLite's query has it, after attempts. */
function batchWithFirst(r: Raw): BatchWithFirst {
  const { id, kind, state, event_count, bytes, created_at, attempts, ...rest } = batchRow(r);
  const first_attempt_at = int8OrNull(r.first_attempt_at, "batches.first_attempt_at");
  return { id, kind, state, event_count, bytes, created_at, attempts, first_attempt_at, ...rest };
}

function attemptRow(r: Raw): AttemptRow {
  return {
    batch_id: r.batch_id as string,
    attempt: r.attempt as number,
    started_at: int8(r.started_at, "attempts.started_at"),
    latency_ms: int8OrNull(r.latency_ms, "attempts.latency_ms"),
    response_code: r.response_code as number | null,
    failure_code: r.failure_code as string | null,
    response_snippet: r.response_snippet as string | null,
  };
}

export function viewStore({ sql }: PgContext): ViewStore {
  const cols = sql`id, kind, state, event_count, bytes, created_at, attempts, first_attempt_at, last_attempt_at, next_attempt_at,
    last_response_code, last_failure_code, done_at`;
  return {
    async recentBatches(webhookId, limit, state) {
      const rows = state
        ? await sql`SELECT ${cols} FROM batches WHERE webhook_id = ${webhookId} AND state = ${state} ORDER BY ord DESC LIMIT ${limit}`
        : await sql`SELECT ${cols} FROM batches WHERE webhook_id = ${webhookId} ORDER BY ord DESC LIMIT ${limit}`;
      return rows.map(batchRow);
    },

    async batch(webhookId, batchId) {
      const [r] = await sql`SELECT ${cols} FROM batches WHERE webhook_id = ${webhookId} AND id = ${batchId}`;
      return r ? batchWithFirst(r) : null;
    },

    async attempts(batchId) {
      const rows = await sql`SELECT batch_id, attempt, started_at, latency_ms, response_code, failure_code, response_snippet
        FROM attempts WHERE batch_id = ${batchId} ORDER BY attempt, id`;
      return rows.map(attemptRow);
    },

    queues: (webhooks) => queueFigures(sql, webhooks),

    async deliveredPerMinute(webhookIds, now, minutes) {
      if (webhookIds.length === 0) return [];
      const start = Math.floor(now / 60_000) * 60_000 - (minutes - 1) * 60_000;
      // Every webhook's minutes in one statement; done_at ≥ start, so the division floors.
      const rows = await sql`SELECT webhook_id, (done_at - ${start}::bigint) / 60000 AS m, sum(event_count) AS n FROM batches
        WHERE webhook_id = ANY(${sql.array([...webhookIds], "TEXT")}::text[]) AND state = 'delivered' AND done_at >= ${start}::bigint
        GROUP BY webhook_id, m`;
      const byId = new Map<string, number[]>();
      for (const r of rows as Raw[]) {
        const m = int8(r.m, "minute");
        if (m < 0 || m >= minutes) continue;
        let out = byId.get(r.webhook_id as string);
        if (!out) byId.set(r.webhook_id as string, (out = new Array<number>(minutes).fill(0)));
        out[m] = int8(r.n, "delivered events");
      }
      return webhookIds.map((id) => [...(byId.get(id) ?? new Array<number>(minutes).fill(0))]);
    },
  };
}
