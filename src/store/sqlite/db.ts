import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import { privately } from "../permissions.ts";
import { migrate } from "./migrate.ts";
import * as schema from "./schema.ts";

export type Drizzle = BunSQLiteDatabase<typeof schema>;
export type Connection = { sqlite: Database; db: Drizzle; path: string; close(): void };

/**
 * Opens (creating it and its folder if needed) and migrates the SQLite file. The pragmas are
 * set explicitly rather than trusting build defaults: WAL so readers never block the writer;
 * synchronous=FULL because a 2xx to POST /events or a committed log checkpoint promises the
 * event survives a power cut, not only a process crash (writes are batched per transaction,
 * so the fsync is paid per batch, not per event) — NORMAL only on connections that write what
 * can be rebuilt (`durability: "normal"`); a busy timeout so the CLI and the server can share
 * the file; and foreign keys, which SQLite leaves off by default. A new store's folder is
 * made 0700 and its files 0600 (permissions.ts).
 */
export function openDatabase(path: string, opts: { durability?: "full" | "normal" } = {}): Connection {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const sqlite = privately(() => new Database(path, { create: true, strict: true }));
  // The busy timeout first: switching to WAL takes a lock, and another connection (the server's,
  // a thread's, the CLI's) may hold it for a moment — without the timeout that open failed at
  // once with "database is locked" (seen on a loaded machine as an ingest thread started).
  sqlite.run("PRAGMA busy_timeout = 5000");
  privately(() => sqlite.run("PRAGMA journal_mode = WAL"));
  sqlite.run(`PRAGMA synchronous = ${opts.durability === "normal" ? "NORMAL" : "FULL"}`);
  sqlite.run("PRAGMA foreign_keys = ON");
  sqlite.run("PRAGMA temp_store = MEMORY");
  // Checkpoint the WAL every ~40 MB instead of every 4 MB: under a steady stream of events
  // and batch bodies the default checkpointed (and fsynced the database) several times a
  // second, the largest single cost of log-to-receiver throughput.
  sqlite.run("PRAGMA wal_autocheckpoint = 10000");
  sqlite.run("PRAGMA journal_size_limit = 67108864");
  migrate(sqlite);
  const db = drizzle(sqlite, { schema });
  return {
    sqlite,
    db,
    path,
    close: () => {
      sqlite.close();
    },
  };
}
