// SQL straight against a test app's store, whichever driver runs it: for tests that check what
// the tables hold (rows a route must or must not have written). `?` placeholders; on
// PostgreSQL they become $1…, and int8 results (count(*), bigint columns) come back as strings
// there — cast counts with CAST(… AS INTEGER), which both dialects read as a number. JSON
// columns come back parsed on PostgreSQL, as text on SQLite: read them through jsonColumn().
import type { Store } from "../../src/store/driver.ts";
import { pgOf } from "../../src/store/postgres/driver.ts";
import { sqliteOf } from "../../src/store/sqlite/driver.ts";

export async function sqlRows<T = Record<string, unknown>>(store: Store, text: string, ...params: unknown[]): Promise<T[]> {
  if (store.kind === "sqlite")
    return sqliteOf(store)
      .query(text)
      .all(...(params as never[])) as T[];
  let n = 0;
  return [
    ...(await pgOf(store).unsafe(
      text.replace(/\?/g, () => `$${++n}`),
      params,
    )),
  ] as T[];
}

export async function sqlRow<T = Record<string, unknown>>(store: Store, text: string, ...params: unknown[]): Promise<T | undefined> {
  return (await sqlRows<T>(store, text, ...params))[0];
}

/** A statement that returns nothing (an INSERT a test needs). */
export async function sqlRun(store: Store, text: string, ...params: unknown[]): Promise<void> {
  await sqlRows(store, text, ...params);
}

/** A JSON column's value: parsed by Bun on PostgreSQL, text on SQLite. */
export function jsonColumn<T = unknown>(value: unknown): T {
  return (typeof value === "string" ? JSON.parse(value) : value) as T;
}

/** The env a `hookd` command needs to open the same store as `storage`. */
export function storeEnv(storage: { driver: string; path: string; url: string; node: string }): Record<string, string> {
  return storage.driver === "postgres"
    ? { HOOKD_STORAGE_DRIVER: "postgres", HOOKD_STORAGE_URL: storage.url, HOOKD_STORAGE_PATH: storage.path }
    : { HOOKD_STORAGE_PATH: storage.path };
}

/**
 * Makes every INSERT or UPDATE on `table` fail with "injected failure" (as a full disk or a
 * lost database would), on either driver, until clear() — a trigger reading a flag table.
 */
export async function injectWriteFailure(
  store: Store,
  table: string,
  op: "INSERT" | "UPDATE",
): Promise<{ clear(): Promise<void>; set(): Promise<void> }> {
  const flag = `fail_flag_${table}_${op.toLowerCase()}`;
  await sqlRun(store, `CREATE TABLE ${flag} (x INTEGER)`);
  if (store.kind === "sqlite") {
    await sqlRun(
      store,
      `CREATE TRIGGER ${flag} BEFORE ${op} ON ${table} WHEN (SELECT count(*) FROM ${flag}) > 0 BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
    );
  } else {
    await sqlRun(
      store,
      `CREATE FUNCTION ${flag}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF EXISTS (SELECT 1 FROM ${flag}) THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$`,
    );
    await sqlRun(store, `CREATE TRIGGER ${flag} BEFORE ${op} ON ${table} FOR EACH ROW EXECUTE FUNCTION ${flag}()`);
  }
  const set = () => sqlRun(store, `INSERT INTO ${flag} VALUES (1)`);
  await set();
  return { set, clear: () => sqlRun(store, `DELETE FROM ${flag}`) };
}
