import type { SQL } from "bun";
import type { EndedAttempt } from "../contract/delivery.ts";
import { rowsParam } from "./batches-sql.ts";
import { noNul } from "./values.ts";

// The attempts that ended, recorded by one statement of the pass: each batch's new state
// (only under the lease token its attempt was made with: a lease lost meanwhile records
// nothing), its attempts row, and each webhook's success or failure streak. The pass holds
// the row lock of every webhook named here (pass.ts).
//
// The streak is the SQLite driver's, applied once per webhook instead of once per attempt:
// what the attempts, taken in order, leave behind. A success sets last_success_at and clears
// the streak; each failure sets last_failure_at/code, starts failing_since if the streak had
// not started, and counts. So, per webhook: last_success_at is the last success's time;
// last_failure_* the last failure's; and the streak is the failures after the last success,
// added to the stored one when there was no success.

const RECORD = `WITH x AS (
    SELECT * FROM json_to_recordset($1::text::json) AS x(i int, b text, w text, tk text, n int, s bigint, lat bigint,
      rc int, fc text, sn text, ok boolean, st text, nx bigint, dn bigint, at bigint)
  ), rec AS (
    UPDATE batches b SET state = x.st, lease_token = NULL, lease_until = NULL, lease_node = NULL,
      last_response_code = x.rc, last_failure_code = x.fc, next_attempt_at = x.nx, done_at = x.dn
    FROM x WHERE b.id = ANY($2::text[]) AND b.id = x.b AND b.lease_token = x.tk
    RETURNING x.i, x.b, x.w, x.n, x.s, x.lat, x.rc, x.fc, x.sn, x.ok, x.at
  ), att AS (
    INSERT INTO attempts (batch_id, webhook_id, attempt, started_at, latency_ms, response_code, failure_code, response_snippet)
    SELECT b, w, n, s, lat, rc, fc, sn FROM rec ORDER BY i
  ), last_ok AS (
    SELECT w, max(i) FILTER (WHERE ok) AS i FROM rec GROUP BY w
  ), streak AS (
    SELECT r.w, l.i AS last_ok,
      (array_agg(r.at ORDER BY r.i DESC) FILTER (WHERE r.ok))[1] AS ok_at,
      (array_agg(r.at ORDER BY r.i DESC) FILTER (WHERE NOT r.ok))[1] AS fail_at,
      (array_agg(r.fc ORDER BY r.i DESC) FILTER (WHERE NOT r.ok))[1] AS fail_code,
      (array_agg(r.at ORDER BY r.i) FILTER (WHERE NOT r.ok AND r.i > COALESCE(l.i, -1)))[1] AS failing_from,
      count(*) FILTER (WHERE NOT r.ok AND r.i > COALESCE(l.i, -1)) AS fails
    FROM rec r JOIN last_ok l ON l.w = r.w GROUP BY r.w, l.i
  ), streaks AS (
    UPDATE webhooks h SET
      last_success_at = COALESCE(s.ok_at, h.last_success_at),
      last_failure_at = COALESCE(s.fail_at, h.last_failure_at),
      last_failure_code = CASE WHEN s.fail_at IS NULL THEN h.last_failure_code ELSE s.fail_code END,
      failing_since = CASE WHEN s.last_ok IS NULL THEN COALESCE(h.failing_since, s.failing_from) ELSE s.failing_from END,
      consecutive_failures = CASE WHEN s.last_ok IS NULL THEN h.consecutive_failures ELSE 0 END + s.fails
    FROM streak s WHERE h.id = s.w
  )
  SELECT i FROM rec`;

/** Records `ended` in the pass's transaction; per attempt, in order, whether it was recorded. */
export async function recordEnded(tx: SQL, ended: readonly EndedAttempt[]): Promise<boolean[]> {
  if (ended.length === 0) return [];
  // The same attempt twice in one pass: the first is recorded (its lease is gone for the second).
  const seen = new Set<string>();
  const rows: object[] = [];
  const ids: string[] = [];
  ended.forEach(({ record: a, outcome, at }, i) => {
    const key = `${a.batchId}\n${a.token}`;
    if (seen.has(key)) return;
    seen.add(key);
    ids.push(a.batchId);
    rows.push({
      i,
      b: a.batchId,
      w: a.webhookId,
      tk: a.token,
      n: a.attempt,
      s: a.startedAt,
      lat: Math.round(a.latencyMs),
      rc: a.responseCode,
      fc: noNul(a.failureCode),
      sn: noNul(a.responseSnippet),
      ok: outcome.kind === "delivered",
      st: outcome.kind === "retry" ? "pending" : outcome.kind,
      nx: outcome.kind === "retry" ? outcome.nextAttemptAt : at,
      dn: outcome.kind === "retry" ? null : at,
      at,
    });
  });
  // The batches by their ids too ($2): an index lookup each, whatever the planner's estimates.
  const done = new Set((await tx.unsafe(RECORD, [rowsParam(rows), tx.array(ids, "TEXT")])).map((r: { i: number }) => r.i));
  return ended.map((_, i) => done.has(i));
}
