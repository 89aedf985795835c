import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import path from "node:path";
import { openStore } from "../../src/store/open.ts";
import { LATEST_VERSION, migrate, MigrationError, MIGRATIONS, schemaVersion } from "../../src/store/sqlite/migrate.ts";
import { tempDir } from "../helpers/hookd.ts";
import { sqliteOf } from "../../src/store/sqlite/driver.ts";

const dbFile = () => path.join(tempDir(), "hookd.db");

function tables(db: Database): string[] {
  return (
    db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]
  ).map((r) => r.name);
}

function integrity(db: Database): string[] {
  return (db.query("PRAGMA integrity_check").all() as { integrity_check: string }[]).map((r) => r.integrity_check);
}

describe("migrations", () => {
  test("versions are 1..N in order, each with SQL", () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(LATEST_VERSION).toBe(MIGRATIONS.length);
    for (const m of MIGRATIONS) expect(m.sql.trim().length).toBeGreaterThan(0);
  });

  test("an empty file is migrated to the latest version and passes integrity_check", () => {
    const file = dbFile();
    const db = new Database(file, { create: true });
    try {
      expect(schemaVersion(db)).toBe(0);
      expect(migrate(db)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(schemaVersion(db)).toBe(LATEST_VERSION);
      expect(tables(db)).toEqual([
        "api_keys",
        "attempts",
        "batch_bodies",
        "batches",
        "custom_event_types",
        "domains",
        "events",
        "message_lookup",
        "message_lookup_state",
        "nodes",
        "source_checkpoints",
        "tracked_messages",
        "tracking_firsts",
        "tracking_keyring",
        "tracking_minutes",
        "webhooks",
      ]);
      expect(integrity(db)).toEqual(["ok"]);
    } finally {
      db.close();
    }
  });

  test("openStore on a new path creates the folder and the latest schema", () => {
    const file = path.join(tempDir(), "nested", "deeper", "hookd.db");
    const store = openStore(file);
    try {
      expect(schemaVersion(sqliteOf(store))).toBe(LATEST_VERSION);
      expect(integrity(sqliteOf(store))).toEqual(["ok"]);
    } finally {
      store.close();
    }
  });

  test("opening twice applies nothing the second time and keeps the data", () => {
    const file = dbFile();
    const first = openStore(file);
    sqliteOf(first).run("INSERT INTO custom_event_types (name, first_seen_at) VALUES ('kept', 1)");
    first.close();

    const second = openStore(file);
    try {
      expect(migrate(sqliteOf(second))).toEqual([]);
      expect(schemaVersion(sqliteOf(second))).toBe(LATEST_VERSION);
      expect(sqliteOf(second).query("SELECT name FROM custom_event_types").all()).toEqual([{ name: "kept" }]);
      expect(integrity(sqliteOf(second))).toEqual(["ok"]);
    } finally {
      second.close();
    }
  });

  test("a store at an older version is brought up to date, applying only the missing steps", () => {
    const file = dbFile();
    const db = new Database(file, { create: true });
    try {
      expect(migrate(db, 1)).toEqual([1]);
      expect(schemaVersion(db)).toBe(1);
      const cols = () => (db.query("PRAGMA table_info(webhooks)").all() as { name: string }[]).map((c) => c.name);
      expect(cols()).not.toContain("consecutive_failures");
      expect(migrate(db)).toEqual(MIGRATIONS.filter((m) => m.version > 1).map((m) => m.version));
      expect(cols()).toContain("consecutive_failures");
      expect(schemaVersion(db)).toBe(LATEST_VERSION);
    } finally {
      db.close();
    }
  });

  test("a store whose user_version is newer than this code is refused with MigrationError", () => {
    const file = dbFile();
    const raw = new Database(file, { create: true });
    raw.run(`PRAGMA user_version = ${LATEST_VERSION + 1}`);
    raw.close();

    expect(() => openStore(file)).toThrow(MigrationError);
    const db = new Database(file);
    try {
      expect(() => migrate(db)).toThrow(/newer than this hookd understands/);
      // Nothing was created in a store we do not understand.
      expect(tables(db)).toEqual([]);
      expect(schemaVersion(db)).toBe(LATEST_VERSION + 1);
    } finally {
      db.close();
    }
  });

  test("a migration that fails leaves the previous version and schema intact", () => {
    const file = dbFile();
    const db = new Database(file, { create: true });
    try {
      migrate(db, 1);
      // Make step 2 fail midway: its ALTER TABLE succeeds, its CREATE INDEX collides.
      db.run("CREATE INDEX batches_webhook_pending ON batches(webhook_id)");
      expect(() => migrate(db)).toThrow();
      expect(schemaVersion(db)).toBe(1);
      const cols = (db.query("PRAGMA table_info(webhooks)").all() as { name: string }[]).map((c) => c.name);
      expect(cols).not.toContain("consecutive_failures");
    } finally {
      db.close();
    }
  });
});
