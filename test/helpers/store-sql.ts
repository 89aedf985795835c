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
