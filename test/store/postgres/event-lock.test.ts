import { afterEach, describe, expect, test } from "bun:test";
import type { SQL } from "bun";
import type { Store } from "../../../src/store/driver.ts";
import { ADVISORY_LOCK } from "../../../src/store/postgres/locks.ts";
import { openPostgresDriver } from "../../../src/store/postgres/driver.ts";
import { int8 } from "../../../src/store/postgres/values.ts";
import { eventually } from "../../helpers/eventually.ts";
import { usePostgres } from "../../helpers/pg.ts";
import { rowsOf, T } from "../driver-env.ts";

// Why every event insert takes ADVISORY_LOCK.events first (events-insert.ts): a seq is taken
// when a row is inserted and becomes visible when its transaction commits, so without the lock
// a seq taken earlier can commit later, and a reader that follows seq (the batcher, the live
// tail) has already moved past it: that event is never delivered.

const pg = usePostgres();
const opened: Store[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

async function store(url: string, node: string): Promise<Store> {
  const s = await openPostgresDriver(url, { node, max: 2 });
  opened.push(s);
  return s;
}

/**
 * Another writer's transaction, held open after inserting one event (seq 1), taking the event
 * lock first or not; resolves once the row is in. `commit()` ends it.
 */
async function heldInsert(sql: SQL, lock: boolean): Promise<{ commit(): Promise<void> }> {
  let inserted!: () => void;
  let commit!: () => void;
  const ready = new Promise<void>((r) => (inserted = r));
  const gate = new Promise<void>((r) => (commit = r));
  const done = sql.begin(async (tx) => {
    if (lock) await tx`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK.events}::bigint)`;
    await tx`INSERT INTO events (event_id, type, ts, host, source, body, received_at)
             VALUES ('early', 'delivery', ${T}, 'mx1', 'api', '{"event_id":"early"}', ${T})`;
    inserted();
    await gate;
  });
  await ready;
  return {
    commit: async () => {
      commit();
      await done;
    },
  };
}

const waitingOnAdvisoryLock = async (sql: SQL) => {
  const [row] = await sql`SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'`;
  return int8((row as { n: unknown }).n, "count") > 0;
};

const ids = (rows: { seq: number; body: string }[]) => rows.map((r) => [r.seq, (JSON.parse(r.body) as { event_id: string }).event_id]);

describe("the event lock", () => {
  test("without it, a later seq commits first and a reader following seq skips the earlier one for good", async () => {
    const { sql, url } = await pg.database({ migrated: true });
    const s = await store(url, "a");
    const other = await heldInsert(pg.connect(url, { max: 1 }), false);
    await s.ingest.commit(rowsOf(1, "later"), "/log", null, T); // commits while seq 1 is in flight
    const page = await s.events.after(0, 10);
    expect(ids(page)).toEqual([[2, "later-000001"]]);
    await other.commit();
    expect(await s.events.after(page[0]!.seq, 10)).toEqual([]); // the reader's cursor is past seq 1
    expect(int8((await sql`SELECT count(*) AS n FROM events`)[0].n, "count")).toBe(2);
  });

  test("with it, an insert waits for the transaction that holds an earlier seq, so seqs appear in order", async () => {
    const { sql, url } = await pg.database({ migrated: true });
    const s = await store(url, "a");
    const other = await heldInsert(pg.connect(url, { max: 1 }), true);
    let resolved = false;
    const insert = s.events.insert(rowsOf(1, "later"), [], "api", T).then((r) => {
      resolved = true;
      return r;
    });
    await eventually(() => waitingOnAdvisoryLock(sql));
    expect([resolved, await s.events.after(0, 10)]).toEqual([false, []]);
    await other.commit();
    expect(await insert).toEqual({ inserted: 1, duplicates: 0 });
    expect(ids(await s.events.after(0, 10))).toEqual([
      [1, "early"],
      [2, "later-000001"],
    ]);
  });

  test("three nodes inserting at once, with clocks apart: a reader following seq misses nothing, and arrival never goes back", async () => {
    const { sql, url } = await pg.database({ migrated: true });
    const nodes = [await store(url, "a"), await store(url, "b"), await store(url, "c")];
    const reader = await store(url, "reader");
    const chunks = 12;
    const size = 150;
    const total = nodes.length * chunks * size;
    const writing = Promise.all(
      nodes.map(async (s, n) => {
        for (let i = 0; i < chunks; i++) {
          const clock = T + (n - 1) * 5_000 + i; // node b on time, a 5 s behind, c 5 s ahead
          if (i % 2) await s.ingest.commit(rowsOf(size, `n${n}c${i}`), `/log/${n}`, null, clock);
          else await s.events.insert(rowsOf(size, `n${n}c${i}`), [], "api", clock);
        }
      }),
    );
    let finished = false;
    void writing.finally(() => {
      finished = true;
    });
    const seen = new Set<string>();
    let cursor = 0;
    for (;;) {
      const last = finished;
      const page = await reader.events.after(cursor, 97);
      for (const e of page) {
        expect(e.seq).toBeGreaterThan(cursor);
        cursor = e.seq;
        seen.add((JSON.parse(e.body) as { event_id: string }).event_id);
      }
      if (page.length === 0 && last) break;
      if (page.length === 0) await Bun.sleep(1); // a poll, as the live tail's
    }
    await writing;
    expect(seen.size).toBe(total);
    const [back] = await sql`SELECT count(*) AS n FROM (
        SELECT received_at < lag(received_at) OVER (ORDER BY seq) AS back FROM events) x WHERE back`;
    expect(int8((back as { n: unknown }).n, "count")).toBe(0);
  });
});
