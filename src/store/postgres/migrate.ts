// Brings a PostgreSQL database to the schema this hookd speaks. Every node runs it at start,
// and a fleet's nodes often start together: the first to take a session advisory lock applies
// what is missing, each version in its own transaction with its schema_migrations row
// (PostgreSQL's DDL is transactional: a crash mid-migration leaves the version before), and
// the others wait on the lock, then find nothing left to do. Without the lock, two nodes
// running the same CREATE TABLE at once: the second fails.
import type { ReservedSQL, SQL } from "bun";
import { MigrationError } from "../errors.ts";
import { ADVISORY_LOCK } from "./locks.ts";
import { PG_MIGRATIONS, type PgMigration } from "./schema.ts";

export type MigratePgOptions = {
  /** This node's name, recorded with each version it applies. */
  node: string;
  /** Stop at this version (default: the latest). */
  target?: number;
  /** Told once when another node holds the lock (it is migrating): the caller may log that it waits. */
  onWait?: () => void;
  /** The versions to apply (tests); PG_MIGRATIONS otherwise. */
  migrations?: readonly PgMigration[];
};

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at bigint NOT NULL,
  node text NOT NULL
)`;

/** The database's schema version: 0 when no version was ever applied. */
export async function pgSchemaVersion(sql: SQL): Promise<number> {
  const [row] = await sql`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`;
  if (!(row as { present: boolean }).present) return 0;
  const [max] = await sql`SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations`;
  return (max as { v: number }).v;
}

/**
 * Applies the versions the database lacks, up to `target`, and returns those this call
 * applied (empty when another node had done it). Throws MigrationError when the database is
 * newer than this hookd, or when a version fails (the message names it; nothing of it stays).
 */
export async function migratePg(sql: SQL, opts: MigratePgOptions): Promise<number[]> {
  const migrations = opts.migrations ?? PG_MIGRATIONS;
  const latest = migrations.length ? migrations[migrations.length - 1]!.version : 0;
  const target = opts.target ?? latest;
  const conn = await sql.reserve();
  try {
    // A migration may rewrite a large table, and the lock may wait for one: neither is bound by
    // the session's timeouts, which are set back as they were before the connection goes back.
    const [saved] = await conn`SELECT current_setting('statement_timeout') AS st, current_setting('lock_timeout') AS lt`;
    const { st, lt } = saved as { st: string; lt: string };
    await conn.unsafe("SET statement_timeout = 0; SET lock_timeout = 0");
    try {
      await lock(conn, opts.onWait);
      try {
        return await applyPending(conn, migrations, target, latest, opts.node);
      } finally {
        await conn`SELECT pg_advisory_unlock(${ADVISORY_LOCK.migrate}::bigint)`.catch(() => {
          // The connection is gone, and the lock went with its session.
        });
      }
    } finally {
      await conn`SELECT set_config('statement_timeout', ${st}, false), set_config('lock_timeout', ${lt}, false)`.catch(() => {});
    }
  } finally {
    conn.release();
  }
}

async function lock(conn: ReservedSQL, onWait: (() => void) | undefined): Promise<void> {
  const [got] = await conn`SELECT pg_try_advisory_lock(${ADVISORY_LOCK.migrate}::bigint) AS ok`;
  if ((got as { ok: boolean }).ok) return;
  onWait?.();
  await conn`SELECT pg_advisory_lock(${ADVISORY_LOCK.migrate}::bigint)`;
}

async function applyPending(
  conn: ReservedSQL,
  migrations: readonly PgMigration[],
  target: number,
  latest: number,
  node: string,
): Promise<number[]> {
  await conn.unsafe(CREATE_TABLE);
  const current = await pgSchemaVersion(conn);
  if (current > latest) {
    throw new MigrationError(`database schema version ${current} is newer than this hookd understands (${latest}); run a newer hookd`);
  }
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= current || m.version > target) continue;
    await conn.unsafe("BEGIN");
    try {
      await conn.unsafe(m.sql);
      await conn`INSERT INTO schema_migrations (version, name, applied_at, node) VALUES (${m.version}, ${m.name}, ${Date.now()}, ${node})`;
      await conn.unsafe("COMMIT");
    } catch (err) {
      await conn.unsafe("ROLLBACK").catch(() => {});
      throw new MigrationError(`PostgreSQL schema version ${m.version} (${m.name}) failed: ${(err as Error).message}`, { cause: err });
    }
    applied.push(m.version);
  }
  return applied;
}
