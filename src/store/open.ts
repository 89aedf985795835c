import type { OpenOptions, Store } from "./driver.ts";
import { openSqliteDriver } from "./sqlite/driver.ts";

// Where every part of hookd opens its store: the one place that picks the driver.

/** Opens (creating and migrating it when needed) the store at `path`. */
export function openStore(path: string, opts: OpenOptions = {}): Store {
  return openSqliteDriver(path, opts);
}
