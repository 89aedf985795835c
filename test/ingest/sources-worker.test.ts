// The main thread's handle on the ingest worker, over lib/worker-rpc.ts: sources applied there
// are tailed into the store, their counts come back as notes, and stop commits and ends it.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { generate } from "../../bench/postfix-log.ts";
import type { SourceConfig } from "../../src/config/schema.ts";
import { createSourcesWorker } from "../../src/ingest/sources-worker.ts";
import { silentLogger } from "../../src/lib/log.ts";
import { openStore } from "../../src/store/open.ts";
import { eventually } from "../helpers/eventually.ts";
import { tempDir } from "../helpers/hookd.ts";
import { sqliteOf } from "../../src/store/sqlite/driver.ts";

const sqliteTarget = (path: string) => ({ driver: "sqlite" as const, path, url: "", node: "" });

const source = (p: string): SourceConfig => ({ path: p, format: "postfix", start_at: "beginning", host: "mx1", rotate_wait: 5000 });

describe("createSourcesWorker", () => {
  test("tails the applied sources on the worker: lines and events counted, status reported, all committed by stop", async () => {
    const dir = tempDir();
    const storePath = path.join(dir, "hookd.db");
    openStore(storePath).close(); // migrated, as startHookd leaves it
    const logPath = path.join(dir, "mail.log");
    fs.writeFileSync(logPath, generate(3000).join("\n") + "\n");
    let lines = 0;
    let events = 0;
    const sources = createSourcesWorker(sqliteTarget(storePath), silentLogger, {
      onLines: (_source, n) => (lines += n),
      onEvents: (byType) => (events += Object.values(byType).reduce((a, b) => a + b, 0)),
    });
    await sources.apply([source(logPath)]);
    await eventually(() => lines === 3000 && sources.status()[0]?.lines_read === 3000, { timeoutMs: 15_000 });
    expect(sources.status().map((s) => [s.path, s.format])).toEqual([[logPath, "postfix"]]);
    await sources.stop();
    const store = openStore(storePath);
    const stored = (sqliteOf(store).query("SELECT count(*) AS n FROM events").get() as { n: number }).n;
    store.close();
    expect(events).toBeGreaterThan(500);
    expect(stored).toBe(events);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("refuses sources with an in-memory store, which the worker's own connection would not share", async () => {
    const sources = createSourcesWorker(sqliteTarget(":memory:"), silentLogger, { onLines: () => {}, onEvents: () => {} });
    const why = await sources.apply([source("/var/log/mail.log")]).then(
      () => "applied",
      (e: Error) => e.message,
    );
    expect(why).toBe('log sources need storage.path to be a file, not ":memory:"');
    await sources.apply([]);
    await sources.stop();
  });
});
