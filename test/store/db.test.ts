import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, test } from "bun:test";
import { insertBatch } from "../../src/store/sqlite/batches.ts";
import { openStore } from "../../src/store/open.ts";
import { countActiveApiKeys } from "../../src/store/sqlite/keys.ts";
import { tempDir } from "../helpers/hookd.ts";
import { drizzleOf, sqliteOf } from "../../src/store/sqlite/driver.ts";

const dbFile = () => path.join(tempDir(), "hookd.db");

function pragma(db: Database, name: string): unknown {
  const row = db.query(`PRAGMA ${name}`).get() as Record<string, unknown>;
  return Object.values(row)[0];
}

function newWebhook(id: string, now = 1_700_000_000_000) {
  return {
    id,
    name: "w",
    target: "http://127.0.0.1:9/hook",
    events: ["*"],
    secret: "whsec_" + Buffer.from("0123456789abcdef0123456789abcdef").toString("base64"),
    createdAt: now,
    updatedAt: now,
  };
}

describe("openStore pragmas", () => {
  test("WAL, foreign keys on, synchronous FULL, busy timeout set", async () => {
    const file = dbFile();
    const store = openStore(file);
    try {
      expect(pragma(sqliteOf(store), "journal_mode")).toBe("wal");
      expect(pragma(sqliteOf(store), "foreign_keys")).toBe(1);
      expect(pragma(sqliteOf(store), "synchronous")).toBe(2);
      expect(pragma(sqliteOf(store), "busy_timeout")).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
    // WAL is a property of the file: a plain connection opened later sees it too.
    const plain = new Database(file);
    try {
      expect(pragma(plain, "journal_mode")).toBe("wal");
    } finally {
      plain.close();
    }
  });

  test("foreign keys are enforced: a batch for an unknown webhook is refused", async () => {
    const store = openStore(dbFile());
    try {
      expect(() =>
        insertBatch(
          sqliteOf(store),
          {
            id: "b1",
            webhookId: "nope",
            kind: "live",
            eventCount: 1,
            firstSeq: 1,
            lastSeq: 1,
            body: new TextEncoder().encode("[]"),
            now: 1,
          },
          null,
        ),
      ).toThrow(/FOREIGN KEY/);
    } finally {
      await store.close();
    }
  });
});

describe("API keys at rest", () => {
  test("only the sha256 of a key is stored: the key's text is nowhere in the database files", async () => {
    const file = dbFile();
    const store = openStore(file);
    const { key, info } = await store.keys.create("ci", ["events:write"], Date.now());
    const row = sqliteOf(store).query("SELECT hash, prefix, scopes FROM api_keys WHERE id = ?").get(info.id) as {
      hash: string;
      prefix: string;
      scopes: string;
    };
    expect(row.hash).toBe(createHash("sha256").update(key).digest("hex"));
    expect(key.startsWith(row.prefix)).toBe(true);
    expect(row.prefix.length).toBeLessThan(key.length / 2);
    expect(JSON.parse(row.scopes)).toEqual(["events:write"]);
    // Read the bytes while the store is open (WAL not yet checkpointed) and after close.
    const secretPart = key.slice(row.prefix.length);
    const bytes = () =>
      ["", "-wal", "-shm"]
        .map((suffix) => file + suffix)
        .filter((f) => fs.existsSync(f))
        .map((f) => fs.readFileSync(f).toString("latin1"))
        .join("\n");
    const whileOpen = bytes();
    expect(whileOpen).toContain(row.hash);
    expect(whileOpen).not.toContain(key);
    expect(whileOpen).not.toContain(secretPart);
    await store.close();
    const afterClose = bytes();
    expect(afterClose).toContain(row.hash);
    expect(afterClose).not.toContain(key);
    expect(afterClose).not.toContain(secretPart);
  });

  test("a key is found by its text, not by its hash or prefix; revoked keys are not found", async () => {
    const store = openStore(dbFile());
    try {
      const { key, info } = await store.keys.create("ci", ["webhooks:read", "events:read"], Date.now());
      const found = await store.keys.find(key, Date.now());
      expect(found?.id).toBe(info.id);
      expect(found?.scopes).toEqual(["webhooks:read", "events:read"]);
      expect(found && "hash" in found).toBe(false);
      expect(await store.keys.find(createHash("sha256").update(key).digest("hex"), Date.now())).toBeNull();
      expect(await store.keys.find(info.prefix, Date.now())).toBeNull();
      expect(await store.keys.find(key + "x", Date.now())).toBeNull();
      expect(countActiveApiKeys(drizzleOf(store))).toBe(1);
      expect(await store.keys.revoke(info.id, Date.now())).toBe(true);
      expect(await store.keys.revoke(info.id, Date.now())).toBe(false);
      expect(await store.keys.find(key, Date.now())).toBeNull();
      expect(countActiveApiKeys(drizzleOf(store))).toBe(0);
      expect((await store.keys.list()).map((k) => [k.id, k.revokedAt !== null])).toEqual([[info.id, true]]);
    } finally {
      await store.close();
    }
  });
});

describe("deleting a webhook", () => {
  test("cascades to its batches and their attempts, and leaves other webhooks' batches alone", async () => {
    const store = openStore(dbFile());
    try {
      await store.webhooks.insert(newWebhook("w1"));
      await store.webhooks.insert(newWebhook("w2"));
      const body = new TextEncoder().encode('[{"event_id":"e1"}]');
      sqliteOf(store).run(
        `INSERT INTO batches (id, webhook_id, event_count, bytes, first_seq, last_seq, body, created_at, next_attempt_at)
         VALUES ('b1', 'w1', 1, ?, 1, 1, ?, 1, 1), ('b2', 'w1', 1, ?, 2, 2, ?, 2, 2), ('b3', 'w2', 1, ?, 1, 1, ?, 1, 1)`,
        [body.byteLength, body, body.byteLength, body, body.byteLength, body],
      );
      sqliteOf(store).run(
        `INSERT INTO attempts (batch_id, webhook_id, attempt, started_at, response_code) VALUES ('b1', 'w1', 1, 1, 500), ('b3', 'w2', 1, 1, 500)`,
      );
      const count = (sql: string) => (sqliteOf(store).query(sql).get() as { n: number }).n;
      expect(count("SELECT count(*) AS n FROM batches WHERE webhook_id = 'w1'")).toBe(2);

      expect(await store.webhooks.delete("w1")).toBe(true);
      expect(await store.webhooks.get("w1")).toBeUndefined();
      expect(count("SELECT count(*) AS n FROM batches WHERE webhook_id = 'w1'")).toBe(0);
      expect(count("SELECT count(*) AS n FROM attempts WHERE batch_id = 'b1'")).toBe(0);
      expect(count("SELECT count(*) AS n FROM batches WHERE webhook_id = 'w2'")).toBe(1);
      expect(count("SELECT count(*) AS n FROM attempts WHERE batch_id = 'b3'")).toBe(1);
      expect(await store.webhooks.delete("w1")).toBe(false);
    } finally {
      await store.close();
    }
  });
});
