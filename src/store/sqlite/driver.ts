import type { Database } from "bun:sqlite";
import type { OpenOptions, StoreDriver } from "../driver.ts";
import { apiKeyStore, domainStore, webhookStore } from "./admin-area.ts";
import { openDatabase, type Connection } from "./db.ts";
import { deliveryStore, replayStore, retentionStore, viewStore } from "./delivery-area.ts";
import { eventStore, feedbackStore, ingestStore } from "./events-area.ts";
import { metaStore } from "./meta.ts";
import { trackingStore } from "./tracking-area.ts";

// The SQLite driver: one connection, and each method of the store's interface runs the
// synchronous functions of this folder inside — a whole transaction at a time, on the caller's
// thread. Nothing awaits inside a transaction, so nothing else on the thread can run in the
// middle of one: no lock is needed, and a method costs what its synchronous body costs
// (prepared statements, no copies per row). Threads that write (the ingest worker, the
// tracking writer, the milter) open a driver of their own; SQLite serialises their commits.

const connections = new WeakMap<StoreDriver, Connection>();

export function openSqliteDriver(path: string, opts: OpenOptions = {}): StoreDriver {
  const durability = opts.durability ?? "full";
  const conn = openDatabase(path, { durability });
  const { sqlite, db } = conn;
  let closed = false;
  const store: StoreDriver = {
    kind: "sqlite",
    location: path,
    events: eventStore(sqlite),
    ingest: ingestStore(sqlite),
    delivery: deliveryStore(sqlite, db),
    replay: replayStore(sqlite),
    retention: retentionStore(sqlite),
    views: viewStore(sqlite),
    webhooks: webhookStore(db),
    domains: domainStore(db),
    keys: apiKeyStore(db),
    tracking: trackingStore(sqlite, durability),
    feedback: feedbackStore(sqlite),
    meta: metaStore(sqlite, path),
    async close() {
      if (closed) return;
      closed = true;
      conn.close();
    },
  };
  connections.set(store, conn);
  return store;
}

/**
 * The SQLite connection under a store this driver opened: for the store's own tests, and for
 * tests that look at the tables directly. Nothing in src/ outside store/sqlite/ may use it.
 */
export function sqliteOf(store: StoreDriver): Database {
  const conn = connections.get(store);
  if (!conn) throw new Error(`sqliteOf: not a SQLite store (${store.kind})`);
  return conn.sqlite;
}

/** The same connection through drizzle (tests of the drizzle-based functions). */
export function drizzleOf(store: StoreDriver): Connection["db"] {
  const conn = connections.get(store);
  if (!conn) throw new Error(`drizzleOf: not a SQLite store (${store.kind})`);
  return conn.db;
}
