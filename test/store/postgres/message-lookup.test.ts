import { afterEach, describe, expect, test } from "bun:test";
import type { SQL } from "bun";
import type { Event } from "../../../src/events/schema.ts";
import type { Store } from "../../../src/store/driver.ts";
import { eventRows } from "../../../src/store/event-rows.ts";
import { lookupKey } from "../../../src/store/lookup-key.ts";
import { openPostgresDriver } from "../../../src/store/postgres/driver.ts";
import { int8, int8Big } from "../../../src/store/postgres/values.ts";
import { usePostgres } from "../../helpers/pg.ts";
import { T } from "../driver-env.ts";

// The feedback lookup index on PostgreSQL, where a fleet's nodes each run an indexer: one
// node steps (or prunes) at a time and the others give way at once, and pruning follows the
// events retention removed.

const pg = usePostgres();
const opened: Store[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

async function indexed(n: number): Promise<{ sql: SQL; url: string; s: Store }> {
  const { sql, url } = await pg.database({ migrated: true });
  const s = await openPostgresDriver(url, { node: "a", max: 2 });
  opened.push(s);
  const events = Array.from(
    { length: n },
    (_, i) =>
      ({
        event_id: `e${i}`,
        type: "delivery",
        timestamp: new Date(T).toISOString(),
        host: "mx1",
        message_id: `m${i}@x`,
        queue_id: `Q${i}`,
      }) as Event,
  );
  await s.events.insert(eventRows(events), [], "api", T);
  await s.feedback.activateIndex();
  return { sql, url, s };
}

const count = async (sql: SQL, where = "true") =>
  int8((await sql.unsafe(`SELECT count(*) AS n FROM message_lookup WHERE ${where}`))[0].n, "count");

describe("the lookup index on PostgreSQL", () => {
  test("rows carry the 64-bit key every node computes", async () => {
    const { sql, s } = await indexed(1);
    expect(await s.feedback.indexStep(10)).toEqual({ read: 1, added: 2, behind: 0 });
    const rows = await sql`SELECT h FROM message_lookup ORDER BY h`;
    const keys = [lookupKey("message_id", "m0@x"), lookupKey("queue_id", "Q0")].sort((a, b) => (a < b ? -1 : 1));
    expect(rows.map((r: { h: unknown }) => int8Big(r.h, "h"))).toEqual(keys);
  });

  test("a step gives way at once while another node holds the index, and takes up where it is after", async () => {
    const { url, s } = await indexed(5);
    const other = pg.connect(url, { max: 1 });
    let release!: () => void;
    let locked!: () => void;
    const held = new Promise<void>((r) => (locked = r));
    const gate = new Promise<void>((r) => (release = r));
    const holding = other.begin(async (tx) => {
      await tx`SELECT 1 FROM message_lookup_state WHERE id = 1 FOR UPDATE`;
      locked();
      await gate;
    });
    await held;
    expect(await s.feedback.indexStep(10)).toEqual({ read: 0, added: 0, behind: 5 });
    expect(await s.feedback.pruneIndex()).toBe(0);
    expect(await s.feedback.indexState()).toEqual({ indexedSeq: 0, maxSeq: 5 });
    release();
    await holding;
    expect(await s.feedback.indexStep(3)).toEqual({ read: 3, added: 6, behind: 2 });
    expect(await s.feedback.indexStep(3)).toEqual({ read: 2, added: 4, behind: 0 });
  });

  test("pruning drops the rows of events retention removed, a bounded number at a time, and nothing else", async () => {
    const { sql, s } = await indexed(10);
    await s.feedback.indexStep(100);
    expect(await count(sql)).toBe(20);
    expect(await s.feedback.pruneIndex()).toBe(0);
    await sql`DELETE FROM events WHERE seq <= 6`; // retention's work
    expect(await s.feedback.pruneIndex(5)).toBe(5);
    expect(await s.feedback.pruneIndex(5)).toBe(5);
    expect(await s.feedback.pruneIndex(5)).toBe(2);
    expect(await s.feedback.pruneIndex(5)).toBe(0);
    expect([await count(sql), await count(sql, "seq <= 6")]).toEqual([8, 0]);
    expect((await s.feedback.findByQueueId("Q8", 5)).map((r) => r.message_id)).toEqual(["m8@x"]);
    // Retention moves again: the rows below the new oldest event go too.
    await sql`DELETE FROM events WHERE seq <= 8`;
    expect(await s.feedback.pruneIndex()).toBe(4);
    await sql`DELETE FROM events`;
    expect(await s.feedback.pruneIndex()).toBe(4);
    expect(await count(sql)).toBe(0);
  });
});
