import { expect, test } from "bun:test";
import type { SQL } from "bun";
import { int8 } from "../../../src/store/postgres/values.ts";
import { eventually } from "../../helpers/eventually.ts";
import { usePostgres } from "../../helpers/pg.ts";

// batch_bodies.refs counts the batches sharing a body; the batches_release_body trigger frees
// the body with its last batch, however the batches go.

const pg = usePostgres();

async function webhook(sql: SQL, id: string): Promise<void> {
  await sql`INSERT INTO webhooks (id, name, target, events, secret, created_at, updated_at)
            VALUES (${id}, ${id}, 'https://example.com/hook', ${["*"]}, 'whsec_x', 0, 0)`;
}

/** A body shared by one batch per entry of `batches` ([batch id, webhook id]); returns its id. */
async function sharedBody(sql: SQL, batches: [string, string][]): Promise<number> {
  const [row] = await sql`INSERT INTO batch_bodies (body, refs) VALUES (${Buffer.from('[{"a":1}]')}, ${batches.length}) RETURNING id`;
  const bodyId = int8((row as { id: unknown }).id, "batch_bodies.id");
  for (const [id, webhookId] of batches) {
    await sql`INSERT INTO batches (id, webhook_id, event_count, bytes, first_seq, last_seq, body, created_at, next_attempt_at, body_id)
              VALUES (${id}, ${webhookId}, 1, 9, 1, 1, ${Buffer.alloc(0)}, 0, 0, ${bodyId})`;
    await sql`INSERT INTO attempts (batch_id, webhook_id, attempt, started_at) VALUES (${id}, ${webhookId}, 1, 0)`;
  }
  return bodyId;
}

async function refs(sql: SQL, bodyId: number): Promise<number | null> {
  const [row] = await sql`SELECT refs FROM batch_bodies WHERE id = ${bodyId}`;
  return row ? (row as { refs: number }).refs : null;
}

test("a deleted batch gives up its reference; the body goes with the last one", async () => {
  const { sql } = await pg.database({ migrated: true });
  await webhook(sql, "w1");
  const body = await sharedBody(sql, [
    ["b1", "w1"],
    ["b2", "w1"],
  ]);
  await sql`DELETE FROM batches WHERE id = 'b1'`;
  expect(await refs(sql, body)).toBe(1);
  await sql`DELETE FROM batches WHERE id = 'b2'`;
  expect(await refs(sql, body)).toBeNull();
});

test("a webhook's DELETE cascades to its batches (and their attempts), and the trigger runs for each", async () => {
  const { sql } = await pg.database({ migrated: true });
  for (const w of ["w1", "w2"]) await webhook(sql, w);
  const shared = await sharedBody(sql, [
    ["b1", "w1"],
    ["b2", "w2"],
  ]);
  const own = await sharedBody(sql, [["b3", "w2"]]);
  await sql`DELETE FROM webhooks WHERE id = 'w2'`;
  expect(await refs(sql, shared)).toBe(1);
  expect(await refs(sql, own)).toBeNull();
  const [left] = await sql`SELECT (SELECT count(*) FROM batches)::int AS batches, (SELECT count(*) FROM attempts)::int AS attempts`;
  expect(left).toEqual({ batches: 1, attempts: 1 });
  await sql`DELETE FROM webhooks WHERE id = 'w1'`;
  expect(await refs(sql, shared)).toBeNull();
});

test("one statement deleting several batches of one body (retention) frees it once", async () => {
  const { sql } = await pg.database({ migrated: true });
  await webhook(sql, "w1");
  const body = await sharedBody(sql, [
    ["b1", "w1"],
    ["b2", "w1"],
    ["b3", "w1"],
  ]);
  const kept = await sharedBody(sql, [
    ["b4", "w1"],
    ["b5", "w1"],
  ]);
  await sql`DELETE FROM batches WHERE id IN ('b1', 'b2', 'b3', 'b4')`;
  expect(await refs(sql, body)).toBeNull();
  expect(await refs(sql, kept)).toBe(1);
});

test("two nodes deleting batches of one body: the second waits on the body's row, then sees the first's count", async () => {
  const { sql, url } = await pg.database({ migrated: true });
  await webhook(sql, "w1");
  const body = await sharedBody(sql, [
    ["b1", "w1"],
    ["b2", "w1"],
  ]);
  const nodeA = pg.connect(url, { max: 1 });
  const nodeB = pg.connect(url, { max: 1 });
  let commitA!: () => void;
  const aHolds = new Promise<void>((resolve) => (commitA = resolve));
  let aDeleted = false;
  const a = nodeA.begin(async (tx) => {
    await tx`DELETE FROM batches WHERE id = 'b1'`;
    aDeleted = true;
    await aHolds;
  });
  await eventually(() => aDeleted);
  // .execute(): Bun's SQL sends a query when it is awaited, and this one must start before A commits.
  const b = nodeB`DELETE FROM batches WHERE id = 'b2'`.execute();
  // B is blocked on the body's row, which A's trigger updated and has not committed.
  await eventually(async () => {
    const [row] =
      await sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
    return (row as { n: number }).n === 1;
  });
  expect(await refs(sql, body)).toBe(2);
  commitA();
  await Promise.all([a, b]);
  expect(await refs(sql, body)).toBeNull();
});

test("a batch without a shared body (one stored before bodies were shared) deletes as before", async () => {
  const { sql } = await pg.database({ migrated: true });
  await webhook(sql, "w1");
  const other = await sharedBody(sql, [["b1", "w1"]]);
  await sql`INSERT INTO batches (id, webhook_id, event_count, bytes, first_seq, last_seq, body, created_at, next_attempt_at)
            VALUES ('old', 'w1', 1, 2, 1, 1, ${Buffer.from("[]")}, 0, 0)`;
  await sql`DELETE FROM batches WHERE id = 'old'`;
  expect(await refs(sql, other)).toBe(1);
});

test("a body still referenced cannot be deleted by hand", async () => {
  const { sql } = await pg.database({ migrated: true });
  await webhook(sql, "w1");
  const body = await sharedBody(sql, [["b1", "w1"]]);
  const err = await sql`DELETE FROM batch_bodies WHERE id = ${body}`.catch((e: unknown) => e);
  expect((err as { errno?: string }).errno).toBe("23503"); // foreign_key_violation
  expect(await refs(sql, body)).toBe(1);
});
