// The PostgreSQL driver of the sketched boundary, on Bun's SQL. Each method is one
// sql.begin(); what SQLite's single writer gave for free is asked for explicitly:
//   - event inserts take the event lock first, so seq order is commit order (ordering.ts);
//   - a claim locks the webhooks it serves with FOR UPDATE SKIP LOCKED, then reads their
//     heads in a second statement (a fresh snapshot, fleet-sim.ts) and re-checks the row;
//   - a cut moves the cursor only from where the plan started (compare and set).
// int8 columns come back as strings: every figure is read as ::float8 or mapped with Number().
import type { SQL } from "bun";
import { newId } from "../../../src/lib/ids.ts";
import type { EventRows } from "../../../src/store/event-rows.ts";
import { INSERT_EVENTS, insertEventsParams } from "../pg-sql.ts";
import { connect } from "../common.ts";
import { migratePg } from "../schema-pg.ts";
import type { Claim, StoreDriver } from "./types.ts";

export const EVENT_LOCK = 0x686f6f6b6402;

export async function openPgDriver(url: string, node: string): Promise<StoreDriver> {
  const sql = connect(url, 4);
  await migratePg(sql, node);
  // Arrays of ids only (never null): sql.array writes a null element as "null" (pg-sql.ts).
  const arr = (v: unknown[], type: "TEXT" | "BIGINT") => sql.array(v, type);
  // PGSPIKE_NO_EVENT_LOCK=1 shows the suite failing without the fix.
  const locked = process.env.PGSPIKE_NO_EVENT_LOCK !== "1";
  const insert = async (tx: SQL, rows: EventRows, source: string, now: number) => {
    if (locked) await tx`SELECT pg_advisory_xact_lock(${EVENT_LOCK}::bigint)`;
    return (await tx.unsafe(INSERT_EVENTS, insertEventsParams(rows, source, now))) as { type: string }[];
  };
  return {
    kind: "postgres",
    node,
    async insertEvents(rows, source, now) {
      const stored = await sql.begin((tx) => insert(tx, rows, source, now));
      return { inserted: stored.length, duplicates: rows.bodies.length - stored.length };
    },
    async commitChunk(rows, source, checkpoint, now) {
      const stored = await sql.begin(async (tx) => {
        // SQLite's synchronous=NORMAL for the ingest connection: atomic, no wait for the flush;
        // a server crash can take the last commits back, and the log still holds their lines.
        await tx`SET LOCAL synchronous_commit = off`;
        const r = await insert(tx, rows, source, now);
        if (checkpoint) {
          await tx`INSERT INTO source_checkpoints (node, source, dev, ino, fingerprint, "offset", correlation, updated_at)
                   VALUES (${node}, ${source}, ${checkpoint.dev}, ${checkpoint.ino}, ${checkpoint.fingerprint}, ${checkpoint.offset}, '{}', ${now})
                   ON CONFLICT (node, source) DO UPDATE SET dev = excluded.dev, ino = excluded.ino, fingerprint = excluded.fingerprint,
                     "offset" = excluded."offset", correlation = excluded.correlation, updated_at = excluded.updated_at`;
        }
        return r;
      });
      return { types: stored.map((r) => r.type) };
    },
    async loadCheckpoint(source) {
      const [r] = (await sql`SELECT dev::float8 AS dev, ino::float8 AS ino, fingerprint, "offset"::float8 AS "offset"
                             FROM source_checkpoints WHERE node = ${node} AND source = ${source}`) as {
        dev: number;
        ino: number;
        fingerprint: string;
        offset: number;
      }[];
      return r ? { dev: r.dev, ino: r.ino, fingerprint: r.fingerprint, offset: r.offset } : null;
    },
    async eventsAfter(seq, limit) {
      const rows =
        (await sql`SELECT seq::float8 AS seq, event_id AS "eventId" FROM events WHERE seq > ${seq} ORDER BY seq LIMIT ${limit}`) as {
          seq: number;
          eventId: string;
        }[];
      return [...rows];
    },
    async createWebhook(id, now) {
      await sql`INSERT INTO webhooks (id, name, target, events, secret, created_at, updated_at) VALUES (${id}, ${id}, 'http://127.0.0.1:9/', '["*"]', 'whsec_x', ${now}, ${now})`;
    },
    async cutBatch(webhookId, fromCursor, toSeq, body, now) {
      return sql.begin(async (tx) => {
        const moved =
          await tx`UPDATE webhooks SET cursor_seq = ${toSeq} WHERE id = ${webhookId} AND cursor_seq = ${fromCursor} RETURNING id`;
        if (!moved.length) return false;
        const [{ id: bodyId }] = (await tx`INSERT INTO batch_bodies (body, refs) VALUES (${body}, 1) RETURNING id`) as [{ id: string }];
        await tx`INSERT INTO batches (id, webhook_id, kind, state, event_count, bytes, first_seq, last_seq, body, body_id, created_at, next_attempt_at)
                 VALUES (${newId("msg_", now)}, ${webhookId}, 'live', 'pending', ${toSeq - fromCursor}, ${body.byteLength}, ${fromCursor + 1}, ${toSeq}, '\\x', ${bodyId}, ${now}, ${now})`;
        return true;
      });
    },
    async claimDue(webhookIds, now, leaseMs) {
      return sql.begin(async (tx) => {
        const locked =
          (await tx`SELECT id FROM webhooks WHERE id = ANY(${arr([...webhookIds], "TEXT")}::text[]) ORDER BY id FOR UPDATE SKIP LOCKED`) as {
            id: string;
          }[];
        if (!locked.length) return [];
        const rows = (await tx`
          WITH heads AS (
            SELECT DISTINCT ON (webhook_id) id FROM batches
            WHERE webhook_id = ANY(${arr(
              locked.map((l) => l.id),
              "TEXT",
            )}::text[]) AND state = 'pending' ORDER BY webhook_id, ord)
          UPDATE batches b SET lease_token = ${newId("", now)} || b.id, lease_until = ${now + leaseMs}, lease_node = ${node},
                 attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, ${now}), last_attempt_at = ${now}
          FROM heads h WHERE b.id = h.id AND b.state = 'pending' AND b.next_attempt_at <= ${now} AND (b.lease_until IS NULL OR b.lease_until < ${now})
          RETURNING b.id AS "batchId", b.webhook_id AS "webhookId", b.lease_token AS token, b.attempts`) as Claim[];
        return [...rows];
      });
    },
    async recordOutcomes(outcomes) {
      return sql.begin(async (tx) => {
        const done: boolean[] = [];
        for (const o of outcomes) {
          const r =
            await tx`UPDATE batches SET state = ${o.delivered ? "delivered" : "pending"}, lease_token = NULL, lease_until = NULL, lease_node = NULL,
                               next_attempt_at = ${o.delivered ? o.at : o.nextAttemptAt}, done_at = ${o.delivered ? o.at : null}
                             WHERE id = ${o.batchId} AND lease_token = ${o.token} RETURNING webhook_id`;
          if (r.length) {
            await tx`INSERT INTO attempts (batch_id, webhook_id, attempt, started_at, latency_ms, response_code, failure_code)
                     VALUES (${o.batchId}, ${o.webhookId}, ${o.attempt}, ${o.at}, 1, ${o.delivered ? 200 : 500}, ${o.delivered ? null : "http_5xx"})`;
          }
          done.push(r.length > 0);
        }
        return done;
      });
    },
    close: () => sql.close(),
  };
}
