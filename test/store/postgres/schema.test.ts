import { describe, expect, test } from "bun:test";
import { getTableConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import * as drizzle from "../../../src/store/sqlite/schema.ts";
import { PG_TABLES } from "../../../src/store/postgres/schema.ts";
import { usePostgres } from "../../helpers/pg.ts";
import { type Catalog, type Column, pgCatalog, sqliteAtFleet, sqliteCatalog } from "./catalog.ts";

// PostgreSQL's schema must be SQLite's, column for column: the code above the store reads rows
// of drizzle's types whichever driver runs. Checked three ways: against drizzle's definitions
// (what the code reads), against SQLite migrated to the same version (what the other driver
// has, fleet columns included), and against the type rules in src/store/postgres/schema.ts.

const pg = usePostgres();

let pgCache: Promise<Catalog> | null = null;
// Read once (the catalog, not a client: the client closes with the test that made it).
const pgSchema = () =>
  (pgCache ??= (async () => {
    const { sql } = await pg.database({ migrated: true });
    return pgCatalog(sql);
  })());
const sqliteSchema = (() => {
  const db = sqliteAtFleet();
  const c = sqliteCatalog(db);
  db.close();
  return c;
})();

const key = (c: { table: string; name: string }) => `${c.table}.${c.name}`;
const byKey = <T extends { table: string; name: string }>(rows: T[]) => new Map(rows.map((r) => [key(r), r]));

// The integer columns that stay int4 (Bun returns them as numbers): counts, attempt numbers,
// HTTP codes, a version counter, single-row ids. Every other SQLite INTEGER is a bigint, but
// dev and ino (double precision) and the boolean columns.
const INT4 = new Set([
  "webhooks.batch_max_events",
  "webhooks.consecutive_failures",
  "batches.event_count",
  "batches.attempts",
  "batches.last_response_code",
  "batch_bodies.refs",
  "attempts.attempt",
  "attempts.response_code",
  "tracking_keyring.id",
  "tracking_keyring.version",
  "tracking_minutes.opens",
  "tracking_minutes.machine_opens",
  "tracking_minutes.clicks",
  "tracking_minutes.machine_clicks",
  "tracking_minutes.unsubscribes",
  "message_lookup_state.id",
]);
const FLOAT8 = new Set(["source_checkpoints.dev", "source_checkpoints.ino"]);
// SQLite's INTEGER PRIMARY KEY assigns itself when left out (drizzle counts it as a default);
// these the code always gives (a single row's id 1, a minute), so PostgreSQL has a plain key.
const GIVEN_KEYS = new Set(["tracking_keyring.id", "message_lookup_state.id", "tracking_minutes.minute"]);
// What the fleet adds (version 12), beyond drizzle's definitions of today.
const FLEET = [
  "batches.lease_node",
  "batches.ord",
  "source_checkpoints.node",
  "nodes.name",
  "nodes.started_at",
  "nodes.last_seen_at",
  "nodes.version",
  "nodes.sources",
];

// Where PostgreSQL says more than SQLite can: ord is an identity there (SQLite's trigger fills
// a nullable column), and a node's sources are json (text holding JSON in SQLite).
const PG_OWN: Record<string, { notNull?: boolean; hasDefault?: boolean; type?: string }> = {
  "batches.ord": { notNull: true, hasDefault: true },
  "nodes.sources": { type: "json" },
};

/** The PostgreSQL type a drizzle column must have. */
function expectedPgType(table: string, column: { name: string; columnType: string }): string {
  const k = `${table}.${column.name}`;
  switch (column.columnType) {
    case "SQLiteBoolean":
      return "boolean";
    case "SQLiteTextJson":
      return "json";
    case "SQLiteText":
      return "text";
    case "SQLiteBlobBuffer":
      return "bytea";
    case "SQLiteInteger":
      return INT4.has(k) ? "integer" : FLOAT8.has(k) ? "double precision" : "bigint";
    default:
      throw new Error(`${k}: no PostgreSQL type decided for drizzle's ${column.columnType}`);
  }
}

const drizzleTables = Object.values(drizzle as Record<string, unknown>).filter((v): v is SQLiteTable => v instanceof SQLiteTable);

describe("PostgreSQL vs drizzle's definitions", () => {
  test("the same tables, and the fleet's nodes", async () => {
    const tables = [...new Set((await pgSchema()).columns.map((c) => c.table))].sort();
    expect(tables).toEqual([...PG_TABLES]);
    // nodes until drizzle declares it (when 0012-fleet is registered).
    expect(tables).toEqual([...new Set([...drizzleTables.map((t) => getTableConfig(t).name), "nodes"])].sort());
  });

  for (const table of drizzleTables) {
    const config = getTableConfig(table);
    test(`${config.name}: each column by name, type, NOT NULL, primary key and default`, async () => {
      const cols = byKey((await pgSchema()).columns);
      const want = config.columns.map((c) => ({
        name: c.name,
        type: expectedPgType(config.name, c),
        notNull: c.notNull,
        // A composite key (primaryKey() on the table) marks its columns on the table, not on each column.
        primary: c.primary || config.primaryKeys.some((k) => k.columns.some((kc) => kc.name === c.name)),
        hasDefault: c.hasDefault,
        ...PG_OWN[`${config.name}.${c.name}`],
      }));
      const identity = new Set((await pgSchema()).identity);
      const got = config.columns.map((c) => {
        const col = cols.get(`${config.name}.${c.name}`);
        if (!col) return { name: c.name, missing: true };
        // drizzle counts an INTEGER PRIMARY KEY (SQLite assigns it) as having a default: an identity here.
        const hasDefault = col.default !== null || identity.has(key(col)) || GIVEN_KEYS.has(key(col));
        return { name: c.name, type: col.type, notNull: col.notNull, primary: col.primary, hasDefault };
      });
      expect(got).toEqual(want);
    });
  }

  test("every PostgreSQL column is drizzle's, or one the fleet added", async () => {
    const known = new Set(drizzleTables.flatMap((t) => getTableConfig(t).columns.map((c) => `${getTableConfig(t).name}.${c.name}`)));
    const extra = (await pgSchema()).columns.map(key).filter((k) => !known.has(k));
    // All of FLEET today; fewer once drizzle declares the fleet's columns.
    expect(extra.filter((k) => !FLEET.includes(k))).toEqual([]);
    const pgKeys = new Set((await pgSchema()).columns.map(key));
    expect(FLEET.filter((k) => !pgKeys.has(k))).toEqual([]);
  });

  test("foreign keys and their ON DELETE, as drizzle declares them", async () => {
    const declared = drizzleTables.flatMap((t) =>
      getTableConfig(t).foreignKeys.map((fk) => {
        const ref = fk.reference();
        return {
          table: getTableConfig(t).name,
          from: ref.columns[0]!.name,
          toTable: getTableConfig(ref.foreignTable).name,
          to: ref.foreignColumns[0]!.name,
          onDelete: fk.onDelete ?? "no action",
        };
      }),
    );
    const sort = (a: { table: string; from: string }, b: { table: string; from: string }) =>
      `${a.table}.${a.from}`.localeCompare(`${b.table}.${b.from}`);
    expect((await pgSchema()).foreignKeys.sort(sort)).toEqual(declared.sort(sort));
  });

  test("ids and seqs are identities that only the sequence assigns", async () => {
    expect((await pgSchema()).identity.sort()).toEqual([
      "attempts.id",
      "batch_bodies.id",
      "batches.ord",
      "events.seq",
      "tracked_messages.id",
    ]);
  });
});

describe("PostgreSQL vs SQLite at the same version (0012-fleet applied)", () => {
  const compatible: Record<string, string[]> = {
    integer: ["bigint", "integer", "double precision", "boolean"],
    text: ["text", "json"],
    blob: ["bytea"],
  };

  test("the same columns on both, each NOT NULL, primary and default alike, types compatible", async () => {
    const pgCols = byKey((await pgSchema()).columns);
    const sqliteCols = sqliteSchema.columns;
    expect([...pgCols.keys()].sort()).toEqual(sqliteCols.map(key).sort());
    const mismatched = sqliteCols.flatMap((s) => {
      const p = pgCols.get(key(s)) as Column;
      // SQLite cannot add a NOT NULL column without a constant default: its ord is filled by a trigger.
      const notNull = key(s) === "batches.ord" ? true : s.notNull;
      const same =
        (compatible[s.type] ?? []).includes(p.type) && notNull === p.notNull && s.primary === p.primary && s.default === p.default;
      return same ? [] : [{ sqlite: s, pg: p }];
    });
    expect(mismatched).toEqual([]);
  });

  test("every SQLite index is in PostgreSQL, on the same columns, but those the fleet moves to ord", async () => {
    const pgIx = byKey((await pgSchema()).indexes.map((i) => ({ ...i, name: i.name })));
    const pgByColumns = new Set(
      (await pgSchema()).indexes.map((i) => `${i.table}(${i.columns})${i.unique ? " unique" : ""}${i.where ? ` where ${i.where}` : ""}`),
    );
    // SQLite keeps (created_at, id) until its driver orders by ord, and needs MAX(ord) for its
    // trigger; PostgreSQL's identity needs neither.
    const sqliteOnly = new Set(["batches.batches_ord", "batches.batches_webhook_state_ord", "batches.batches_webhook_pending"]);
    const missing = sqliteSchema.indexes
      .filter((i) => !sqliteOnly.has(key(i)))
      .filter((i) => {
        const named = pgIx.get(key(i));
        // Automatic indexes (primary keys, UNIQUE) have SQLite's names: match them by columns.
        const shape = `${i.table}(${i.columns})${i.unique ? " unique" : ""}${i.where ? ` where ${i.where}` : ""}`;
        return named
          ? JSON.stringify([named.columns, named.unique, named.where]) !== JSON.stringify([i.columns, i.unique, i.where])
          : !pgByColumns.has(shape);
      });
    expect(missing).toEqual([]);
  });

  test("PostgreSQL's own indexes: the head order by ord, and batches.body_id for the refcount trigger's deletes", async () => {
    const pgIx = byKey((await pgSchema()).indexes);
    expect(pgIx.get("batches.batches_webhook_pending")?.columns).toEqual(["webhook_id", "state", "ord"]);
    expect(pgIx.get("batches.batches_body")?.columns).toEqual(["body_id"]);
    expect(pgIx.get("source_checkpoints.source_checkpoints_pkey")?.columns).toEqual(["node", "source"]);
    const sqliteNames = new Set(sqliteSchema.indexes.map(key));
    const pgOnly = (await pgSchema()).indexes.filter(
      (i) => !sqliteNames.has(key(i)) && !i.name.endsWith("_pkey") && !i.name.endsWith("_key"),
    );
    expect(pgOnly.map(key)).toEqual(["batches.batches_body"]);
  });
});
