import { expect, test } from "bun:test";
import path from "node:path";
import type { SQL } from "bun";
import type { Store } from "../../../src/store/driver.ts";
import { openStore } from "../../../src/store/open.ts";
import { openPostgresDriver } from "../../../src/store/postgres/driver.ts";
import { sqliteOf } from "../../../src/store/sqlite/driver.ts";
import { tempDir } from "../../helpers/hookd.ts";
import { usePostgres } from "../../helpers/pg.ts";
import { VIEW_CALLS, viewScenario } from "../driver-views.suite.ts";

// The PostgreSQL driver's views answer as the SQLite driver's do, value for value, type for
// type and key for key, on the same rows: the history of driver-views.suite.ts made by the
// SQLite driver, then copied table by table into PostgreSQL (its webhooks through the
// PostgreSQL driver's insert). Until the PostgreSQL delivery pass exists, this is how its
// views meet real batches; the shared suite runs the same history on both drivers after.

const pg = usePostgres();

/** `table`'s rows in SQLite, in `order`, without the columns PostgreSQL numbers itself (identity), inserted into PostgreSQL in that order. */
async function copy(from: Store, to: SQL, table: string, order: string, generated: readonly string[]): Promise<number> {
  const rows = sqliteOf(from).query(`SELECT * FROM ${table} ORDER BY ${order}`).all() as Record<string, unknown>[];
  for (const r of rows) {
    for (const c of generated) delete r[c];
    await to`INSERT INTO ${to(table)} ${to(r)}`;
  }
  return rows.length;
}

test("the views of a delivery history are the SQLite driver's, on the same rows", async () => {
  const lite = openStore(path.join(tempDir(), "hookd.db"));
  const { sql, url } = await pg.database({ migrated: true });
  const store = await openPostgresDriver(url, { node: "node-a", max: 2 });
  try {
    await viewScenario(lite);
    for (const w of await lite.webhooks.list()) await store.webhooks.insert(w);
    expect(await store.webhooks.list()).toStrictEqual(await lite.webhooks.list());
    // Identity columns count from 1 in insert order, as SQLite's did: the same seqs and ids.
    expect(await copy(lite, sql, "events", "seq", ["seq"])).toBe(15);
    await copy(lite, sql, "batch_bodies", "id", ["id"]);
    // In the order they were cut (their insert order): PostgreSQL's ord numbers them the same way.
    expect(await copy(lite, sql, "batches", "rowid", ["ord"])).toBe(4);
    await copy(lite, sql, "attempts", "id", ["id"]);
    for (const [name, call] of Object.entries(VIEW_CALLS)) {
      const [want, got] = [await call(lite), await call(store)];
      expect({ name, got }).toStrictEqual({ name, got: want });
      // Key order and number types too: the API serialises these rows as they come.
      expect({ name, json: JSON.stringify(got) }).toEqual({ name, json: JSON.stringify(want) });
    }
  } finally {
    await store.close();
    await lite.close();
  }
});
