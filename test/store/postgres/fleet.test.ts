import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import type { SQL } from "bun";
import { MIGRATIONS, migrate } from "../../../src/store/sqlite/migrate.ts";
import { sql as fleetSqlite } from "../../../src/store/sqlite/migrations/0012-fleet.ts";
import { int8 } from "../../../src/store/postgres/values.ts";
import { usePostgres } from "../../helpers/pg.ts";

// Version 12 on both drivers: checkpoints per (node, source), the nodes table, the lease's
// holder and the order batches were cut in.

const pg = usePostgres();

// The body "[]" as each dialect writes a byte string.
const batchSql = (id: string, createdAt: number, dialect: "sqlite" | "pg" = "sqlite") =>
  `INSERT INTO batches (id, webhook_id, event_count, bytes, first_seq, last_seq, body, created_at, next_attempt_at)
   VALUES ('${id}', 'w1', 1, 2, 1, 1, ${dialect === "pg" ? "'\\x5b5d'::bytea" : "x'5b5d'"}, ${createdAt}, 0)`;
const WEBHOOK = `INSERT INTO webhooks (id, name, target, events, secret, created_at, updated_at) VALUES ('w1', 'w', 'https://example.com/', '["*"]', 's', 0, 0)`;

describe("PostgreSQL", () => {
  async function migrated(): Promise<SQL> {
    return (await pg.database({ migrated: true })).sql;
  }

  test("two nodes keep their own checkpoint for the same path; a checkpoint must name its node", async () => {
    const sql = await migrated();
    for (const node of ["mx1", "mx2"]) {
      await sql`INSERT INTO source_checkpoints (node, source, "offset", updated_at) VALUES (${node}, '/var/log/mail.log', ${node === "mx1" ? 10 : 20}, 0)`;
    }
    const rows = await sql`SELECT node, "offset" FROM source_checkpoints ORDER BY node`;
    expect(rows.map((r: { node: string; offset: unknown }) => [r.node, int8(r.offset, "offset")])).toEqual([
      ["mx1", 10],
      ["mx2", 20],
    ]);
    const err = await sql`INSERT INTO source_checkpoints (source, "offset", updated_at) VALUES ('/var/log/x', 0, 0)`.catch(
      (e: unknown) => e,
    );
    expect((err as { errno?: string }).errno).toBe("23502"); // not_null_violation
  });

  test("batches are numbered in the order they were cut, whatever the cutting node's clock said", async () => {
    const { sql, url } = await pg.database({ migrated: true });
    await sql.unsafe(WEBHOOK);
    const other = pg.connect(url, { max: 1 });
    // Node B's clock is an hour behind: its later batch has the earlier created_at.
    await sql.unsafe(batchSql("a", 3_600_000, "pg"));
    await other.unsafe(batchSql("b", 0, "pg"));
    await sql.unsafe(batchSql("c", 3_600_001, "pg"));
    const rows = await sql`SELECT id FROM batches WHERE webhook_id = 'w1' AND state = 'pending' ORDER BY ord`;
    expect(rows.map((r: { id: string }) => r.id)).toEqual(["a", "b", "c"]);
    const [lease] = await sql`UPDATE batches SET lease_token = 't', lease_node = 'mx2' WHERE id = 'b' RETURNING lease_node`;
    expect(lease).toEqual({ lease_node: "mx2" });
  });

  test("a node's row: sources default to an empty list, and must be a list", async () => {
    const sql = await migrated();
    await sql`INSERT INTO nodes (name, started_at, last_seen_at, version) VALUES ('mx1', 1, 2, '0.1.0')`;
    await sql`INSERT INTO nodes (name, started_at, last_seen_at, version, sources) VALUES ('mx2', 1, 2, '0.1.0', ${["/var/log/mail.log"]})`;
    const rows = await sql`SELECT name, sources FROM nodes ORDER BY name`;
    expect([...rows]).toEqual([
      { name: "mx1", sources: [] },
      { name: "mx2", sources: ["/var/log/mail.log"] },
    ]);
    const err = await sql`UPDATE nodes SET sources = ${{ path: "/x" }}`.catch((e: unknown) => e);
    expect((err as { errno?: string }).errno).toBe("23514");
  });
});

describe("SQLite's 0012-fleet on a store at version 11", () => {
  function storeAt11(): Database {
    const db = new Database(":memory:");
    migrate(db, 11);
    db.run("PRAGMA foreign_keys = ON");
    db.run(WEBHOOK);
    db.run(
      `INSERT INTO source_checkpoints (source, dev, ino, fingerprint, offset, correlation, updated_at) VALUES ('/var/log/mail.log', 2049, 77, 'fp', 1234, '{"q":1}', 5)`,
    );
    // Inserted in this order, created_at out of order.
    for (const [id, at] of [
      ["b1", 30],
      ["b2", 10],
      ["b3", 20],
    ] as const)
      db.run(batchSql(id, at));
    return db;
  }
  const applyFleet = (db: Database) =>
    db.transaction(() => {
      db.run(fleetSqlite);
      db.run("PRAGMA user_version = 12");
    })();
  const order = (db: Database) => (db.query("SELECT id FROM batches ORDER BY ord").all() as { id: string }[]).map((r) => r.id);

  test("no other SQLite migration claims version 12 (registered at merge, or not yet)", () => {
    expect(MIGRATIONS.some((m) => m.version === 12 && m.sql !== fleetSqlite)).toBe(false);
  });

  test("keeps the stored checkpoint under node '' with every field", () => {
    const db = storeAt11();
    applyFleet(db);
    expect(db.query("SELECT * FROM source_checkpoints").all()).toEqual([
      { node: "", source: "/var/log/mail.log", dev: 2049, ino: 77, fingerprint: "fp", offset: 1234, correlation: '{"q":1}', updated_at: 5 },
    ]);
    db.run(`INSERT INTO source_checkpoints (node, source, offset, updated_at) VALUES ('mx2', '/var/log/mail.log', 0, 0)`);
    expect(() =>
      db.run(`INSERT INTO source_checkpoints (node, source, offset, updated_at) VALUES ('mx2', '/var/log/mail.log', 0, 0)`),
    ).toThrow("UNIQUE constraint failed");
    expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    expect(db.query("PRAGMA foreign_key_check").all()).toEqual([]);
  });

  test("numbers the stored batches in insert order, and each new batch after every other, after a VACUUM too", () => {
    const db = storeAt11();
    applyFleet(db);
    expect(order(db)).toEqual(["b1", "b2", "b3"]);
    db.run(batchSql("b4", 0));
    // SQLite documents that VACUUM may renumber rowids: ord does not rest on them.
    db.run("DELETE FROM batches WHERE id = 'b1'");
    db.run("VACUUM");
    db.run(batchSql("b5", 0));
    expect(order(db)).toEqual(["b2", "b3", "b4", "b5"]);
    const ords = (db.query("SELECT ord FROM batches ORDER BY ord").all() as { ord: number }[]).map((r) => r.ord);
    expect(ords.every((o) => Number.isInteger(o))).toBe(true);
    expect(new Set(ords).size).toBe(ords.length);
  });

  test("the nodes table and lease_node exist as on PostgreSQL", () => {
    const db = storeAt11();
    applyFleet(db);
    db.run("INSERT INTO nodes (name, started_at, last_seen_at, version) VALUES ('mx1', 1, 2, '0.1.0')");
    expect(db.query("SELECT sources FROM nodes").get()).toEqual({ sources: "[]" });
    db.run("UPDATE batches SET lease_node = 'mx1' WHERE id = 'b2'");
    expect(db.query("SELECT lease_node FROM batches WHERE id = 'b2'").get()).toEqual({ lease_node: "mx1" });
  });
});
