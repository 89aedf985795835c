import { afterEach, describe, expect, test } from "bun:test";
import type { HitEvent, Store } from "../../../src/store/driver.ts";
import { openPostgresDriver } from "../../../src/store/postgres/driver.ts";
import { takeEventLock } from "../../../src/store/postgres/events-insert.ts";
import { usePostgres } from "../../helpers/pg.ts";
import { rowsOf, T } from "../driver-env.ts";

// Durability on PostgreSQL: a connection opened "normal" (the ingest worker's, the tracking
// writer's) commits with synchronous_commit off, for that transaction only — the next commit
// on the same connection, which may promise durability, flushes as the server's default does.

const pg = usePostgres();
const opened: Store[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

const advisoryHeld = `SELECT count(*)::integer AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted`;

describe("event writes' durability", () => {
  test("the lock's transaction turns synchronous_commit off for itself only, when the commit need not flush", async () => {
    const { sql } = await pg.database({ migrated: true, max: 1 });
    // The test server runs with it off (fast tests); production's default is on. One connection: the pool's.
    await sql`SET synchronous_commit = on`;
    const inside = await sql.begin(async (tx) => {
      await takeEventLock(tx, false);
      const [row] = await tx.unsafe(`SELECT current_setting('synchronous_commit') AS sc, (${advisoryHeld}) AS held`);
      return row as { sc: string; held: number };
    });
    expect(inside).toEqual({ sc: "off", held: 1 });
    const flushing = await sql.begin(async (tx) => {
      await takeEventLock(tx, true);
      const [row] = await tx.unsafe(`SELECT current_setting('synchronous_commit') AS sc, (${advisoryHeld}) AS held`);
      return row as { sc: string; held: number };
    });
    expect(flushing).toEqual({ sc: "on", held: 1 });
    const [after] = await sql.unsafe(`SELECT current_setting('synchronous_commit') AS sc, (${advisoryHeld}) AS held`);
    expect(after).toEqual({ sc: "on", held: 0 });
  });

  test("a store opened 'normal' commits every unit: ingest, hits durable or not, feedback", async () => {
    const { url } = await pg.database({ migrated: true });
    const s = await openPostgresDriver(url, { node: "a", durability: "normal", max: 1 });
    opened.push(s);
    const position = { checkpoint: { dev: 1, ino: 2, fingerprint: "f", offset: 9 }, correlation: "{}" };
    expect(await s.ingest.commit(rowsOf(2, "i"), "/log", position, T)).toEqual(["delivery", "delivery"]);
    expect(
      await s.ingest.commit({ cols: [], bodies: [] }, "/log", { ...position, checkpoint: { ...position.checkpoint, offset: 10 } }, T),
    ).toEqual([]);
    const hit = (id: string) =>
      ({
        event_id: id,
        type: "click",
        timestamp: new Date(T).toISOString(),
        host: "mx1",
        rcpt_to: "a@x",
        first: false,
        machine: false,
      }) as HitEvent;
    for (const durable of [false, true]) {
      const r = await s.tracking.commitHits([{ event: hit(`h${durable}`), firstKey: `k${durable}`, minute: 1 }], { durable, now: T });
      expect(r.stored).toEqual({ click: 1 });
    }
    expect(await s.feedback.commit([rowsOf(1, "fb")], T)).toEqual([["delivery"]]);
    expect((await s.events.after(0, 10)).length).toBe(5);
    expect((await s.ingest.checkpoint("/log"))?.checkpoint.offset).toBe(10);
  });
});
