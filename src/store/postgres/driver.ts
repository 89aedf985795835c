import { SQL } from "bun";
import { redactedUrl } from "../../config/storage.ts";
import type { OpenOptions, StoreDriver } from "../driver.ts";
import { apiKeyStore, domainStore, webhookStore } from "./admin-area.ts";
import { closePool } from "./close-pool.ts";
import type { PgContext } from "./context.ts";
import { deliveryStore, replayStore, retentionStore } from "./delivery-area.ts";
import { eventStore, feedbackStore, ingestStore } from "./events-area.ts";
import { metaStore } from "./meta.ts";
import { migratePg } from "./migrate.ts";
import { gatePool } from "./pool-gate.ts";
import { trackingStore } from "./tracking-area.ts";
import { viewStore } from "./views-area.ts";

// The PostgreSQL driver: a pool of Bun's SQL per process (each thread that writes opens its
// own, as with SQLite), each method of the store's interface one transaction or one read,
// written set-based (a round trip costs ~60–90 µs here against ~2 µs for SQLite, so a unit is
// a few statements, never one per row). The schema is brought up to date at open, under an
// advisory lock (migrate.ts). Plain SQL, not drizzle: drizzle cannot share query code across
// dialects, and the SQLite driver keeps its own.

export type PgOpenOptions = OpenOptions & {
  /** This node's name in the fleet: checkpoints and leases are kept per node. */
  node: string;
  /** Connections in the pool (Bun opens them as needed, up to this). */
  max?: number;
};

/**
 * Every session's limits. A node that dies or stalls must not hold the event lock or a
 * webhook's row for long: statements end after 30 s, lock waits after 10 s, and a transaction
 * left idle (its client gone quiet) after 60 s.
 */
const SESSION = {
  statement_timeout: 30_000,
  lock_timeout: 10_000,
  idle_in_transaction_session_timeout: 60_000,
} as const;

/** Connects, brings the schema up to date, and returns the store. Rejects naming what failed (never the password). */
export async function openPostgresDriver(url: string, opts: PgOpenOptions): Promise<StoreDriver> {
  const durability = opts.durability ?? "full";
  const max = Math.max(2, opts.max ?? 4);
  const pool = new SQL({
    url,
    // Never one connection: Bun 1.3.14's pool of one, once its connection has died (the
    // server restarted), leaves every later query pending forever instead of reconnecting —
    // the ingest worker (max 1) stopped reading logs for good after a 30 s outage
    // (test/fleet/database-down.test.ts). A pool of two reconnects.
    max,
    connectionTimeout: 10,
    idleTimeout: 60,
    connection: { ...SESSION, application_name: `hookd ${opts.node}`.slice(0, 63) },
  });
  // Every unit goes through the gate (pool-gate.ts); the migration holds a reserved connection of its own.
  const sql = gatePool(pool, max);
  const ctx: PgContext = { sql, node: opts.node, durability };
  try {
    await migratePg(pool, { node: opts.node });
  } catch (err) {
    await closePool(pool);
    throw err;
  }
  let closed = false;
  const store: StoreDriver = {
    kind: "postgres",
    location: redactedUrl(url),
    events: eventStore(ctx),
    ingest: ingestStore(ctx),
    delivery: deliveryStore(ctx),
    replay: replayStore(ctx),
    retention: retentionStore(ctx),
    views: viewStore(ctx),
    webhooks: webhookStore(ctx),
    domains: domainStore(ctx),
    keys: apiKeyStore(ctx),
    tracking: trackingStore(ctx),
    feedback: feedbackStore(ctx),
    meta: metaStore(ctx),
    async close() {
      if (closed) return;
      closed = true;
      await closePool(pool);
    },
  };
  pools.set(store, sql);
  return store;
}

const pools = new WeakMap<StoreDriver, SQL>();

/**
 * The pool under a store this driver opened: for tests that look at the tables directly, as
 * sqliteOf() is for SQLite. Nothing in src/ outside store/postgres/ may use it.
 */
export function pgOf(store: StoreDriver): SQL {
  const sql = pools.get(store);
  if (!sql) throw new Error(`pgOf: not a PostgreSQL store (${store.kind})`);
  return sql;
}
