// A source's parse thread that dies mid-chunk: the chunks waiting on it fail, the source reads
// them again from the position the store holds (with the correlation state saved there), and
// the store ends up with every event of the log once — the same as one uninterrupted parse.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { generate } from "../../bench/postfix-log.ts";
import type { SourceConfig } from "../../src/config/schema.ts";
import { workerParser } from "../../src/ingest/chunk-parser-worker.ts";
import { startSource } from "../../src/ingest/ingester.ts";
import { createLogParser } from "../../src/ingest/parse/index.ts";
import { createLogger } from "../../src/lib/log.ts";
import { openStore } from "../../src/store/open.ts";
import { eventually } from "../helpers/eventually.ts";
import { tempDir } from "../helpers/hookd.ts";
import { DIE_ONCE, DYING_PARSE_WORKER } from "./helpers/dying.ts";
import { sqliteOf } from "../../src/store/sqlite/driver.ts";

describe("a source whose parse thread dies", () => {
  test("reads the failed chunks again from the store's position and stores every event once", async () => {
    const dir = tempDir();
    const die = path.join(dir, "die");
    fs.writeFileSync(die, "");
    // 12,000 lines are three chunks of at most 5,000: the thread dies on the second, with the
    // third already sent to it.
    const lines = generate(12_000);
    lines.splice(7000, 0, `${DIE_ONCE} ${die}`);
    const logPath = path.join(dir, "mail.log");
    fs.writeFileSync(logPath, lines.join("\n") + "\n");
    const source: SourceConfig = { path: logPath, format: "postfix", start_at: "beginning", host: "mx1", rotate_wait: 5000 };
    const reference = createLogParser({ format: "postfix", host: "mx1" });
    const expected = lines.flatMap((l) => reference.feed(l)).map((e) => e.event_id);
    expect(expected.length).toBeGreaterThan(3000);

    const store = openStore(path.join(dir, "hookd.db"));
    const logs: { msg: string; error?: string }[] = [];
    const log = createLogger({ level: "warn", write: (line) => logs.push(JSON.parse(line)) });
    const hooks = { onEvents: () => {}, onLines: () => {} };
    const runner = await startSource(store, source, log, hooks, (setup, state) => workerParser(setup, state, DYING_PARSE_WORKER));
    const stored = () =>
      (sqliteOf(store).query("SELECT event_id FROM events ORDER BY event_id").all() as { event_id: string }[]).map((r) => r.event_id);
    try {
      await eventually(() => !fs.existsSync(die) && stored().length === expected.length, { timeoutMs: 30_000 });
    } finally {
      await runner.stop();
    }
    expect(stored()).toEqual([...expected].sort());
    expect(logs.filter((l) => l.msg === "could not store events read from the log; reading them again").map((l) => l.error)).toEqual([
      "the parse worker exited (exit code 1)",
    ]);
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 40_000);
});
