// Both drivers' tables as data, for the schema tests: what PostgreSQL's catalog and SQLite's
// PRAGMAs say about the migrated schemas, in one shape.
import { Database } from "bun:sqlite";
import type { SQL } from "bun";
import { MIGRATIONS, migrate } from "../../../src/store/sqlite/migrate.ts";
import { sql as fleetSqlite } from "../../../src/store/sqlite/migrations/0012-fleet.ts";

export type Column = { table: string; name: string; type: string; notNull: boolean; primary: boolean; default: string | null };
export type Index = { table: string; name: string; unique: boolean; columns: string[]; where: string | null };
export type ForeignKey = { table: string; from: string; toTable: string; to: string; onDelete: string };
export type Catalog = { columns: Column[]; indexes: Index[]; foreignKeys: ForeignKey[]; identity: string[] };

/** SQLite at the version PostgreSQL is at: its migrations, and 0012-fleet while it is not registered yet. */
export function sqliteAtFleet(): Database {
  const db = new Database(":memory:");
  migrate(db);
  if (!MIGRATIONS.some((m) => m.version === 12)) {
    db.transaction(() => {
      db.run(fleetSqlite);
      db.run("PRAGMA user_version = 12");
    }).immediate();
  }
  return db;
}

// Defaults written the same way on both sides: no casts, no quotes, booleans as 0/1.
const normDefault = (d: string | null): string | null =>
  d === null
    ? null
    : d
        .replace(/::[a-z ]+$/, "")
        .replace(/^'(.*)'$/, "$1")
        .replace(/^true$/, "1")
        .replace(/^false$/, "0");
const normWhere = (w: string | null): string | null =>
  w === null
    ? null
    : w
        .replace(/::text/g, "")
        .replace(/^\((.*)\)$/, "$1")
        .replace(/\s+/g, " ")
        .trim();

export function sqliteCatalog(db: Database): Catalog {
  const tables = (
    db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]
  ).map((r) => r.name);
  const columns: Column[] = [];
  const indexes: Index[] = [];
  const foreignKeys: ForeignKey[] = [];
  for (const table of tables) {
    type Info = { name: string; type: string; notnull: number; dflt_value: string | null; pk: number };
    for (const c of db.query(`PRAGMA table_info(${table})`).all() as Info[]) {
      const primary = c.pk > 0;
      columns.push({
        table,
        name: c.name,
        type: c.type.toLowerCase(),
        notNull: primary || c.notnull === 1,
        primary,
        default: normDefault(c.dflt_value),
      });
    }
    for (const ix of db.query(`PRAGMA index_list(${table})`).all() as { name: string; unique: number; origin: string }[]) {
      const cols = (db.query(`PRAGMA index_info(${JSON.stringify(ix.name)})`).all() as { name: string }[]).map((c) => c.name);
      const sql = (db.query("SELECT sql FROM sqlite_master WHERE name = ?").get(ix.name) as { sql: string | null } | null)?.sql ?? null;
      const where = sql ? (/\bWHERE\s+(.*)$/is.exec(sql)?.[1] ?? null) : null;
      indexes.push({
        table,
        name: ix.origin === "c" ? ix.name : `${table}:${ix.origin}`,
        unique: ix.unique === 1,
        columns: cols,
        where: normWhere(where),
      });
    }
    for (const f of db.query(`PRAGMA foreign_key_list(${table})`).all() as {
      table: string;
      from: string;
      to: string;
      on_delete: string;
    }[]) {
      foreignKeys.push({ table, from: f.from, toTable: f.table, to: f.to, onDelete: f.on_delete.toLowerCase() });
    }
  }
  return { columns, indexes, foreignKeys, identity: [] };
}

export async function pgCatalog(sql: SQL): Promise<Catalog> {
  const cols = (await sql`
    SELECT c.table_name AS t, c.column_name AS n, c.data_type AS type, c.is_nullable = 'NO' AS not_null, c.column_default AS dflt,
           c.is_identity = 'YES' AND c.identity_generation = 'ALWAYS' AS identity,
           EXISTS (SELECT 1 FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name)
                   WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = 'public' AND tc.table_name = c.table_name AND k.column_name = c.column_name) AS pk
    FROM information_schema.columns c WHERE c.table_schema = 'public' AND c.table_name <> 'schema_migrations'`) as {
    t: string;
    n: string;
    type: string;
    not_null: boolean;
    dflt: string | null;
    identity: boolean;
    pk: boolean;
  }[];
  const columns = cols.map((c) => ({
    table: c.t,
    name: c.n,
    type: c.type,
    notNull: c.not_null,
    primary: c.pk,
    default: normDefault(c.dflt),
  }));
  const identity = cols.filter((c) => c.identity).map((c) => `${c.t}.${c.n}`);
  const defs =
    (await sql`SELECT tablename AS t, indexname AS n, indexdef AS d FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'schema_migrations'`) as {
      t: string;
      n: string;
      d: string;
    }[];
  const indexes = defs.map(({ t, n, d }) => {
    const m = /^CREATE (UNIQUE )?INDEX \w+ ON public\.\w+ USING btree \(([^)]*)\)(?: WHERE (.*))?$/.exec(d);
    if (!m) throw new Error(`unexpected index definition: ${d}`);
    return { table: t, name: n, unique: !!m[1], columns: m[2]!.split(", "), where: normWhere(m[3] ?? null) };
  });
  const fks = (await sql`
    SELECT cl.relname AS t, a.attname AS "from", rc.relname AS to_table, ra.attname AS "to", con.confdeltype AS del
    FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid JOIN pg_class rc ON rc.oid = con.confrelid
    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
    JOIN pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = con.confkey[1]
    WHERE con.contype = 'f' AND con.connamespace = 'public'::regnamespace`) as {
    t: string;
    from: string;
    to_table: string;
    to: string;
    del: string;
  }[];
  const onDelete: Record<string, string> = { a: "no action", c: "cascade", r: "restrict", n: "set null", d: "set default" };
  const foreignKeys = fks.map((f) => ({ table: f.t, from: f.from, toTable: f.to_table, to: f.to, onDelete: onDelete[f.del] ?? f.del }));
  return { columns, indexes, foreignKeys, identity };
}
