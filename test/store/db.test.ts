import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, test } from "bun:test";
import { insertBatch } from "../../src/store/batches.ts";
import { openStore } from "../../src/store/db.ts";
import { createApiKey, findApiKey, revokeApiKey, listApiKeys, countActiveApiKeys } from "../../src/store/keys.ts";
import { deleteWebhook, getWebhook, insertWebhook } from "../../src/store/webhooks.ts";
import { tempDir } from "../helpers/hookd.ts";

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
  test("WAL, foreign keys on, synchronous FULL, busy timeout set", () => {
    const file = dbFile();
    const store = openStore(file);
    try {
      expect(pragma(store.sqlite, "journal_mode")).toBe("wal");
      expect(pragma(store.sqlite, "foreign_keys")).toBe(1);
      expect(pragma(store.sqlite, "synchronous")).toBe(2);
      expect(pragma(store.sqlite, "busy_timeout")).toBeGreaterThan(0);
    } finally {
      store.close();
    }
    // WAL is a property of the file: a plain connection opened later sees it too.
    const plain = new Database(file);
    try {
      expect(pragma(plain, "journal_mode")).toBe("wal");
    } finally {
      plain.close();
    }
  });

  test("foreign keys are enforced: a batch for an unknown webhook is refused", () => {
    const store = openStore(dbFile());
    try {
      expect(() =>
        insertBatch(
          store.sqlite,
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
      store.close();
    }
  });
});

describe("API keys at rest", () => {
  test("only the sha256 of a key is stored: the key's text is nowhere in the database files", () => {
    const file = dbFile();
    const store = openStore(file);
    const { key, info } = createApiKey(store.db, "ci", ["events:write"]);
    const row = store.sqlite.query("SELECT hash, prefix, scopes FROM api_keys WHERE id = ?").get(info.id) as {
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
    store.close();
    const afterClose = bytes();
    expect(afterClose).toContain(row.hash);
    expect(afterClose).not.toContain(key);
    expect(afterClose).not.toContain(secretPart);
  });

  test("a key is found by its text, not by its hash or prefix; revoked keys are not found", () => {
    const store = openStore(dbFile());
    try {
      const { key, info } = createApiKey(store.db, "ci", ["webhooks:read", "events:read"]);
      const found = findApiKey(store.db, key);
      expect(found?.id).toBe(info.id);
      expect(found?.scopes).toEqual(["webhooks:read", "events:read"]);
      expect(found && "hash" in found).toBe(false);
      expect(findApiKey(store.db, createHash("sha256").update(key).digest("hex"))).toBeNull();
      expect(findApiKey(store.db, info.prefix)).toBeNull();
      expect(findApiKey(store.db, key + "x")).toBeNull();
      expect(countActiveApiKeys(store.db)).toBe(1);
      expect(revokeApiKey(store.db, info.id)).toBe(true);
      expect(revokeApiKey(store.db, info.id)).toBe(false);
      expect(findApiKey(store.db, key)).toBeNull();
      expect(countActiveApiKeys(store.db)).toBe(0);
      expect(listApiKeys(store.db).map((k) => [k.id, k.revokedAt !== null])).toEqual([[info.id, true]]);
    } finally {
      store.close();
    }
  });
});

describe("deleting a webhook", () => {
  test("cascades to its batches and their attempts, and leaves other webhooks' batches alone", () => {
    const store = openStore(dbFile());
    try {
      insertWebhook(store.db, newWebhook("w1"));
      insertWebhook(store.db, newWebhook("w2"));
      const body = new TextEncoder().encode('[{"event_id":"e1"}]');
      store.sqlite.run(
        `INSERT INTO batches (id, webhook_id, event_count, bytes, first_seq, last_seq, body, created_at, next_attempt_at)
         VALUES ('b1', 'w1', 1, ?, 1, 1, ?, 1, 1), ('b2', 'w1', 1, ?, 2, 2, ?, 2, 2), ('b3', 'w2', 1, ?, 1, 1, ?, 1, 1)`,
        [body.byteLength, body, body.byteLength, body, body.byteLength, body],
      );
      store.sqlite.run(
        `INSERT INTO attempts (batch_id, webhook_id, attempt, started_at, response_code) VALUES ('b1', 'w1', 1, 1, 500), ('b3', 'w2', 1, 1, 500)`,
      );
      const count = (sql: string) => (store.sqlite.query(sql).get() as { n: number }).n;
      expect(count("SELECT count(*) AS n FROM batches WHERE webhook_id = 'w1'")).toBe(2);

      expect(deleteWebhook(store.db, "w1")).toBe(true);
      expect(getWebhook(store.db, "w1")).toBeUndefined();
      expect(count("SELECT count(*) AS n FROM batches WHERE webhook_id = 'w1'")).toBe(0);
      expect(count("SELECT count(*) AS n FROM attempts WHERE batch_id = 'b1'")).toBe(0);
      expect(count("SELECT count(*) AS n FROM batches WHERE webhook_id = 'w2'")).toBe(1);
      expect(count("SELECT count(*) AS n FROM attempts WHERE batch_id = 'b3'")).toBe(1);
      expect(deleteWebhook(store.db, "w1")).toBe(false);
    } finally {
      store.close();
    }
  });
});
