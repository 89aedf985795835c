import type { SQL } from "bun";
import { newId } from "../../lib/ids.ts";
import type { ClaimedBatch, ClaimRequest, PassInput, PassOutcome } from "../contract/delivery.ts";
import { rowsParam } from "./batches-sql.ts";
import { int8, int8OrNull } from "./values.ts";

// The pass's claims across a fleet, in two statements of the pass's transaction.
//
// 1. Lock the requested webhooks' rows no other node holds (FOR UPDATE SKIP LOCKED), those
//    still at the version the engine read (checked on the row locked, its newest). A webhook another node holds is being claimed (or written) by that node's
//    pass: it is simply not claimed in this one. Batch rows are never skip-locked: skipping a
//    head another transaction holds would take the batch behind it, out of order. Only
//    webhooks with a head not under a live lease are locked (a row lock is a write: with every
//    head in flight on some node, a pass would otherwise lock every requested row for nothing);
//    that read may be a moment old, which can only leave a claim for the next pass.
// 2. A second statement, so a fresh snapshot: it sees everything the previous holder of a
//    lock committed before letting go (read in the same statement as the locks, the snapshot
//    predates them, and the spike claimed leased batches again: bench/pg-spike/fleet-sim.ts).
//    Of each webhook's `heads` oldest pending batches (in cut order, batches.ord), it leases
//    those due and not leased, up to the request's slots and `maxClaims` in all, and returns
//    every head it looked at, so the pass can tell which was due when (nextDueAt).

const LOCK = `SELECT w.id, w.updated_at
  FROM json_to_recordset($1::text::json) AS r(w text, heads int, v bigint) JOIN webhooks w ON w.id = r.w
  WHERE w.updated_at = r.v AND EXISTS (
    SELECT 1 FROM (
      SELECT lease_until FROM batches WHERE webhook_id = r.w AND state = 'pending' ORDER BY ord LIMIT r.heads
    ) h WHERE h.lease_until IS NULL OR h.lease_until < $2)
  ORDER BY w.id FOR UPDATE OF w SKIP LOCKED`;

const CLAIM = `WITH r AS (
    SELECT * FROM json_to_recordset($1::text::json) AS r(o int, w text, heads int, slots int)
  ), h AS (
    SELECT r.o, r.slots, b.id, b.ord, b.next_attempt_at, b.lease_until,
      (b.lease_until IS NULL OR b.lease_until < $2) AND b.next_attempt_at <= $2 AS free
    FROM r CROSS JOIN LATERAL (
      SELECT id, ord, next_attempt_at, lease_until FROM batches
      WHERE webhook_id = r.w AND state = 'pending' ORDER BY ord LIMIT r.heads
    ) b
  ), picked AS (
    SELECT id, o, ord FROM (
      SELECT id, o, ord, slots, row_number() OVER (PARTITION BY o ORDER BY ord) AS k FROM h WHERE free
    ) f WHERE k <= slots
  ), capped AS (
    SELECT id FROM (SELECT id, row_number() OVER (ORDER BY o, ord) AS g FROM picked) p WHERE g <= $3
  ), took AS (
    UPDATE batches b SET lease_token = $4 || b.id, lease_until = $2::bigint + $5::bigint, lease_node = $6,
      attempts = b.attempts + 1, first_attempt_at = COALESCE(b.first_attempt_at, $2), last_attempt_at = $2
    WHERE b.id = ANY(ARRAY(SELECT id FROM capped)) AND b.state = 'pending' AND (b.lease_until IS NULL OR b.lease_until < $2) AND b.next_attempt_at <= $2
    RETURNING b.id, b.webhook_id, b.body_id, b.attempts, b.first_attempt_at, b.event_count, b.lease_token
  )
  SELECT h.o, h.id, h.next_attempt_at, h.lease_until, t.webhook_id, t.body_id, t.attempts, t.first_attempt_at, t.event_count,
    t.lease_token
  FROM h LEFT JOIN took t ON t.id = h.id ORDER BY h.o, h.ord`;

type HeadRow = {
  o: number;
  id: string;
  next_attempt_at: unknown;
  lease_until: unknown;
  /** The rest: null when this head was not claimed. */
  webhook_id: string | null;
  body_id: unknown;
  attempts: number | null;
  first_attempt_at: unknown;
  event_count: number | null;
  lease_token: string | null;
};

type Claims = Pick<PassOutcome, "claims" | "nextDueAt">;

/**
 * Claims in the pass's transaction, after its records and cuts. Webhooks the pass locked
 * already (to record or cut) are its own: the skip-locking read returns them as any other.
 */
export async function claimDue(tx: SQL, input: PassInput, node: string): Promise<Claims> {
  const none: Claims = { claims: [], nextDueAt: null };
  const wanted = uniqueRequests(input.claims);
  if (wanted.length === 0 || input.maxClaims <= 0) return none;
  const locked = (await tx.unsafe(LOCK, [rowsParam(wanted.map((r) => ({ w: r.webhookId, heads: r.heads, v: r.version }))), input.now])) as {
    id: string;
    updated_at: unknown;
  }[];
  const versions = new Map(locked.map((w) => [w.id, int8(w.updated_at, "webhooks.updated_at")]));
  const ok = wanted.filter((r) => versions.get(r.webhookId) === r.version);
  if (ok.length === 0) return none;
  const t = input.now;
  const requests = ok.map((r, o) => ({ o, w: r.webhookId, heads: r.heads, slots: r.slots }));
  const params = [rowsParam(requests), t, input.maxClaims, newId("", t), input.leaseMs, node];
  const heads = (await tx.unsafe(CLAIM, params)) as HeadRow[];
  return outcome(ok, heads, input);
}

/** Requests that can claim anything, the first for each webhook. */
function uniqueRequests(requests: readonly ClaimRequest[]): ClaimRequest[] {
  const seen = new Set<string>();
  return requests.filter((r) => r.slots > 0 && r.heads > 0 && !seen.has(r.webhookId) && seen.add(r.webhookId));
}

/**
 * The claims in request order, and nextDueAt as the SQLite driver computes it: the earliest
 * not-due head among those looked at before a request's slots (or the bound) ran out.
 */
function outcome(requests: readonly ClaimRequest[], heads: readonly HeadRow[], input: PassInput): Claims {
  const t = input.now;
  const out: Claims = { claims: [], nextDueAt: null };
  let at = 0;
  requests.forEach((r, o) => {
    let free = r.slots;
    for (; at < heads.length && heads[at]!.o === o; at++) {
      const h = heads[at]!;
      if (free <= 0 || out.claims.length >= input.maxClaims) continue;
      const leaseUntil = int8OrNull(h.lease_until, "batches.lease_until");
      if (leaseUntil !== null && leaseUntil >= t) continue;
      const due = int8(h.next_attempt_at, "batches.next_attempt_at");
      if (due > t) {
        out.nextDueAt = out.nextDueAt === null ? due : Math.min(out.nextDueAt, due);
        continue;
      }
      if (h.lease_token === null) continue; // changed under the statement: not claimed
      free--;
      out.claims.push({ batch: claimed(h), token: h.lease_token });
    }
  });
  return out;
}

function claimed(h: HeadRow): ClaimedBatch {
  return {
    id: h.id,
    webhook_id: h.webhook_id!,
    body_id: int8OrNull(h.body_id, "batches.body_id"),
    attempts: h.attempts!,
    first_attempt_at: int8(h.first_attempt_at, "batches.first_attempt_at"),
    event_count: h.event_count!,
  };
}
