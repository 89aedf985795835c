import { expect, test } from "bun:test";
import { SQL } from "bun";
import { MigrationError } from "../../../src/store/errors.ts";
import { ADVISORY_LOCK } from "../../../src/store/postgres/locks.ts";
import { migratePg, pgSchemaVersion } from "../../../src/store/postgres/migrate.ts";
import { PG_LATEST_VERSION, PG_MIGRATIONS, PG_TABLES } from "../../../src/store/postgres/schema.ts";
import { eventually } from "../../helpers/eventually.ts";
import { usePostgres } from "../../helpers/pg.ts";

const pg = usePostgres();
const ALL = PG_MIGRATIONS.map((m) => m.version);

async function tables(sql: SQL): Promise<string[]> {
  const rows = await sql`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`;
  return (rows as { name: string }[]).map((r) => r.name);
}

async function versionRows(sql: SQL): Promise<{ version: number; name: string; node: string }[]> {
  return [...(await sql`SELECT version, name, node FROM schema_migrations ORDER BY version`)] as {
    version: number;
    name: string;
    node: string;
  }[];
}

/** Takes the migration lock in a session of its own, as a node that is migrating would; release() ends it. */
async function holdLock(url: string): Promise<{ release(): Promise<void> }> {
  const holder = pg.connect(url, { max: 1 });
  await holder`SELECT pg_advisory_lock(${ADVISORY_LOCK.migrate}::bigint)`;
  return { release: async () => void (await holder`SELECT pg_advisory_unlock(${ADVISORY_LOCK.migrate}::bigint)`) };
}

test("versions are numbered upwards from 11, SQLite's version when PostgreSQL arrived, each with SQL", () => {
  expect(ALL[0]).toBe(11);
  expect(ALL).toEqual(ALL.map((_, i) => 11 + i));
  expect(PG_LATEST_VERSION).toBe(ALL[ALL.length - 1]!);
  for (const m of PG_MIGRATIONS) expect(m.sql.trim().length).toBeGreaterThan(0);
});

test("an empty database is brought to the latest version: every table, one schema_migrations row per version", async () => {
  const { sql } = await pg.database();
  expect(await pgSchemaVersion(sql)).toBe(0);
  expect(await migratePg(sql, { node: "a" })).toEqual(ALL);
  expect(await pgSchemaVersion(sql)).toBe(PG_LATEST_VERSION);
  expect(await tables(sql)).toEqual([...PG_TABLES, "schema_migrations"].sort());
  expect(await versionRows(sql)).toEqual(PG_MIGRATIONS.map((m) => ({ version: m.version, name: m.name, node: "a" })));
  // A restart finds nothing to do.
  expect(await migratePg(sql, { node: "a" })).toEqual([]);
  expect((await versionRows(sql)).length).toBe(ALL.length);
});

test("target stops at a version; a later run applies the rest", async () => {
  const { sql } = await pg.database();
  expect(await migratePg(sql, { node: "a", target: 11 })).toEqual([11]);
  expect(await pgSchemaVersion(sql)).toBe(11);
  expect(await tables(sql)).not.toContain("nodes");
  expect(await migratePg(sql, { node: "b" })).toEqual(ALL.filter((v) => v > 11));
  expect((await versionRows(sql)).map((r) => `${r.version}:${r.node}`)).toEqual(ALL.map((v) => `${v}:${v === 11 ? "a" : "b"}`));
});

test("three nodes starting together on one database: each version applied once, by one of them", async () => {
  const { url } = await pg.database();
  const nodes = ["a", "b", "c"].map(() => pg.connect(url, { max: 1 }));
  const applied = await Promise.all(nodes.map((sql, i) => migratePg(sql, { node: `n${i}` })));
  expect(applied.flat().sort()).toEqual(ALL);
  // One node did it all: the lock is held across the versions, not taken per version.
  expect(applied.filter((a) => a.length > 0)).toHaveLength(1);
  const rows = await versionRows(nodes[0]!);
  expect(rows.map((r) => r.version)).toEqual(ALL);
  expect(new Set(rows.map((r) => r.node)).size).toBe(1);
});

test("nodes that find the lock taken wait for it, then see the work done", async () => {
  const { url } = await pg.database();
  const held = await holdLock(url);
  const waited: string[] = [];
  const runs = ["a", "b", "c"].map((node) => migratePg(pg.connect(url, { max: 1 }), { node, onWait: () => waited.push(node) }));
  await eventually(() => waited.length === 3);
  await held.release();
  const applied = await Promise.all(runs);
  // The first to get the lock applied everything; the two after it found it done.
  expect(applied.map((a) => a.length).sort()).toEqual([0, 0, ALL.length]);
  expect(applied.flat()).toEqual(ALL);
});

test("waiting for the lock is not cut short by the session's statement_timeout, which is restored after", async () => {
  const { url } = await pg.database();
  const held = await holdLock(url);
  const node = new SQL(url, { max: 1, connection: { statement_timeout: 100 } });
  try {
    let waiting = false;
    const run = migratePg(node, { node: "a", onWait: () => (waiting = true) });
    const watcher = pg.connect(url, { max: 1 });
    // Still waiting on the lock well past the 100 ms statement_timeout.
    await eventually(async () => {
      const [row] =
        await watcher`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'advisory' AND now() - query_start > interval '400 milliseconds'`;
      return waiting && (row as { n: number }).n === 1;
    });
    await held.release();
    expect(await run).toEqual(ALL);
    const [setting] = await node`SELECT current_setting('statement_timeout') AS st, current_setting('lock_timeout') AS lt`;
    expect(setting).toEqual({ st: "100ms", lt: "0" });
  } finally {
    await node.close({ timeout: 0 });
  }
});

test("a version that fails leaves nothing of itself, names itself, and releases the lock", async () => {
  const { sql, url } = await pg.database();
  const broken = [
    ...PG_MIGRATIONS,
    { version: 99, name: "broken", sql: "CREATE TABLE half_done (x int); SELECT no_such_column FROM half_done;" },
  ];
  const err = await migratePg(sql, { node: "a", migrations: broken }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(MigrationError);
  expect((err as Error).message).toContain("version 99 (broken) failed");
  expect((err as Error).message).toContain("no_such_column");
  expect(await pgSchemaVersion(sql)).toBe(PG_LATEST_VERSION);
  expect(await tables(sql)).not.toContain("half_done");
  // Another session takes the lock at once: the failed run let it go.
  const other = pg.connect(url, { max: 1 });
  const [row] = await other`SELECT pg_try_advisory_lock(${ADVISORY_LOCK.migrate}::bigint) AS ok`;
  expect((row as { ok: boolean }).ok).toBe(true);
});

test("a database newer than this hookd is refused, unchanged", async () => {
  const { sql } = await pg.database({ migrated: true });
  await sql`INSERT INTO schema_migrations (version, name, applied_at, node) VALUES (${PG_LATEST_VERSION + 1}, 'future', 0, 'z')`;
  const err = await migratePg(sql, { node: "a" }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(MigrationError);
  expect((err as Error).message).toBe(
    `database schema version ${PG_LATEST_VERSION + 1} is newer than this hookd understands (${PG_LATEST_VERSION}); run a newer hookd`,
  );
  expect(await pgSchemaVersion(sql)).toBe(PG_LATEST_VERSION + 1);
});
