import { nodeName, type StorageConfig } from "../config/storage.ts";
import type { OpenOptions, Store } from "./driver.ts";
import { openPostgresDriver } from "./postgres/driver.ts";
import { type PgProbe, probePostgres } from "./postgres/probe.ts";
import { openSqliteDriver } from "./sqlite/driver.ts";

// Where every part of hookd opens its store: the one place that picks the driver.

/** What names a store: [storage] as configured, plain data (it crosses to worker threads). */
export type StoreTarget = Pick<StorageConfig, "driver" | "path" | "url" | "node">;

/** The SQLite store at `path`, created and migrated when needed (tests and one-machine tools). */
export function openStore(path: string, opts: OpenOptions = {}): Store {
  return openSqliteDriver(path, opts);
}

/**
 * The configured store: the SQLite file, or this node's pool on the fleet's PostgreSQL
 * (migrated first, under a lock, by whichever node comes first). `max`: the pool's size on
 * PostgreSQL (a thread that commits one unit at a time needs one connection).
 */
export async function connectStore(target: StoreTarget, opts: OpenOptions & { max?: number } = {}): Promise<Store> {
  if (target.driver === "postgres") return openPostgresDriver(target.url, { ...opts, node: nodeName(target) });
  return openSqliteDriver(target.path, opts);
}

/** The StoreTarget of a [storage] section. */
export function storeTarget(storage: StorageConfig): StoreTarget {
  return { driver: storage.driver, path: storage.path, url: storage.url, node: storage.node };
}

/** check-config: whether the fleet's database answers, and its schema version (read-only, bounded). */
export function probeDatabase(url: string, timeoutMs?: number): Promise<PgProbe> {
  return probePostgres(url, timeoutMs);
}
