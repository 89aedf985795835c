// SQL the PostgreSQL prototypes share.
import { ROW_WIDTH, type EventRows } from "../../src/store/event-rows.ts";

/**
 * The events of `rows` as one INSERT … SELECT FROM json_to_recordset($1): one round trip for
 * any number of rows, NULLs kept. Not unnest(sql.array(…)): Bun 1.3.14 writes a null element
 * of an array parameter as the string "null" (text[] gets 'null', bigint[] fails) — measured
 * in dialect.ts. `$1::text::json`: a string bound to a json parameter is sent as a JSON string.
 */
export const INSERT_EVENTS = `INSERT INTO events (event_id, type, ts, host, queue_id, message_id, mail_from, rcpt_to, custom_type, source, body, received_at)
  SELECT e, ty, ts, h, q, m, f, r, ct, $2, b, $3
  FROM json_to_recordset($1::text::json) AS x(e text, ty text, ts bigint, h text, q text, m text, f text, r text, ct text, b text)
  ON CONFLICT (event_id) DO NOTHING RETURNING type`;

const KEYS = ["e", "ty", "ts", "h", "q", "m", "f", "r", "ct"] as const;

/** INSERT_EVENTS's parameters for a chunk of rows. */
export function insertEventsParams(rows: EventRows, source: string, now: number): [string, string, number] {
  const out: Record<string, unknown>[] = [];
  for (let i = 0, c = 0; i < rows.bodies.length; i++, c += ROW_WIDTH) {
    const o: Record<string, unknown> = { b: rows.bodies[i] };
    for (let k = 0; k < KEYS.length; k++) o[KEYS[k]!] = rows.cols[c + k];
    out.push(o);
  }
  return [JSON.stringify(out), source, now];
}

/**
 * One batch claimed as a single-statement job queue would: a webhook's due head, skipping a
 * locked row. For the latency figure only: skipping a head that another node holds locked
 * would take the batch behind it, out of order. The design locks the webhook's row instead
 * (fleet-sim.ts, driver/postgres.ts).
 */
export const CLAIM_SKIP_LOCKED = `UPDATE batches SET lease_token = $1, lease_until = $2, attempts = attempts + 1,
    first_attempt_at = COALESCE(first_attempt_at, $3), last_attempt_at = $3
  WHERE id = (SELECT id FROM batches WHERE webhook_id = $4 AND state = 'pending' AND next_attempt_at <= $3
                AND (lease_until IS NULL OR lease_until < $3) ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING id, webhook_id, body_id, attempts, first_attempt_at, event_count`;
