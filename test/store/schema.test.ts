import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { getTableConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import { migrate } from "../../src/store/sqlite/migrate.ts";
import * as schema from "../../src/store/sqlite/schema.ts";

// The drizzle definitions in src/store/sqlite/schema.ts must describe exactly the tables the
// migrations create: a column drizzle reads that SQLite lacks (or a NOT NULL one drizzle
// thinks is optional) would only show up at runtime.

type ColumnInfo = { cid: number; name: string; type: string; notnull: number; dflt_value: string | null; pk: number };
type ForeignKeyInfo = { table: string; from: string; to: string; on_delete: string };

const drizzleTables: SQLiteTable[] = Object.values(schema as Record<string, unknown>).filter(
  (v): v is SQLiteTable => v instanceof SQLiteTable,
);

function migrated(): Database {
  const db = new Database(":memory:");
  migrate(db);
  return db;
}

describe("drizzle schema vs migrated SQLite", () => {
  test("the same set of tables", () => {
    const db = migrated();
    const sqliteTables = (
      db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]
    )
      .map((r) => r.name)
      .sort();
    expect(drizzleTables.map((t) => getTableConfig(t).name).sort()).toEqual(sqliteTables);
    db.close();
  });

  for (const table of drizzleTables) {
    const config = getTableConfig(table);
    test(`${config.name}: columns match by name, type, NOT NULL, primary key and default`, () => {
      const db = migrated();
      const info = db.query(`PRAGMA table_info(${config.name})`).all() as ColumnInfo[];
      db.close();

      const fromSqlite = info
        .map((c) => ({
          name: c.name,
          type: c.type.toLowerCase(),
          // A PRIMARY KEY column is never NULL for drizzle; SQLite reports notnull 0 for it.
          notNull: c.pk > 0 || c.notnull === 1,
          primary: c.pk > 0,
          // INTEGER PRIMARY KEY is the rowid: SQLite assigns it, which drizzle counts as a default.
          hasDefault: c.dflt_value !== null || (c.pk > 0 && c.type.toUpperCase() === "INTEGER"),
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
      const fromDrizzle = config.columns
        .map((c) => ({
          name: c.name,
          type: c.getSQLType().toLowerCase(),
          notNull: c.notNull,
          // A composite key (primaryKey() on the table) marks its columns on the table, not on each column.
          primary: c.primary || config.primaryKeys.some((k) => k.columns.some((kc) => kc.name === c.name)),
          hasDefault: c.hasDefault,
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
      expect(fromDrizzle).toEqual(fromSqlite);
    });

    test(`${config.name}: foreign keys match`, () => {
      const db = migrated();
      const fks = (db.query(`PRAGMA foreign_key_list(${config.name})`).all() as ForeignKeyInfo[])
        .map((f) => ({ from: f.from, table: f.table, to: f.to, onDelete: f.on_delete.toLowerCase() }))
        .sort((a, b) => a.from.localeCompare(b.from));
      db.close();
      const declared = config.foreignKeys
        .map((fk) => {
          const ref = fk.reference();
          return {
            from: ref.columns.map((c) => c.name).join(","),
            table: getTableConfig(ref.foreignTable).name,
            to: ref.foreignColumns.map((c) => c.name).join(","),
            onDelete: (fk.onDelete ?? "no action").toLowerCase(),
          };
        })
        .sort((a, b) => a.from.localeCompare(b.from));
      expect(declared).toEqual(fks);
    });
  }

  test("unique columns drizzle declares are unique in SQLite", () => {
    const db = migrated();
    for (const table of drizzleTables) {
      const config = getTableConfig(table);
      const uniqueCols = config.columns.filter((c) => c.isUnique).map((c) => c.name);
      const indexes = db.query(`PRAGMA index_list(${config.name})`).all() as { name: string; unique: number }[];
      const uniqueInSqlite = new Set<string>();
      for (const ix of indexes.filter((i) => i.unique === 1)) {
        const cols = db.query(`PRAGMA index_info(${JSON.stringify(ix.name)})`).all() as { name: string }[];
        if (cols.length === 1) uniqueInSqlite.add(cols[0]!.name);
      }
      for (const col of uniqueCols) expect(`${config.name}.${col}:${uniqueInSqlite.has(col)}`).toBe(`${config.name}.${col}:true`);
    }
    db.close();
  });
});
