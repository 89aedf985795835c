// A tailed log where Postfix logged a notice's own lines before the bounce daemon's line that
// names it: the held events are saved with the read position, so a stop, a parse thread that
// dies or a SIGKILL in the middle of the hold loses and doubles nothing, and the events still
// carry `notice`; a source that goes idle sends them out without it.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import type { SourceConfig } from "../../src/config/schema.ts";
import type { Event } from "../../src/events/schema.ts";
import type { ChunkParser } from "../../src/ingest/chunk-parser.ts";
import { workerParser } from "../../src/ingest/chunk-parser-worker.ts";
import { startSource } from "../../src/ingest/ingester.ts";
import { createLogParser, type Snapshot } from "../../src/ingest/parse/index.ts";
import { createLogger, silentLogger } from "../../src/lib/log.ts";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/driver.ts";
import { eventually } from "../helpers/eventually.ts";
import { spawnHookd, tempDir, type SpawnedHookd } from "../helpers/hookd.ts";
import { DIE_ONCE, DYING_PARSE_WORKER } from "./helpers/dying.ts";
import { inThreadParser } from "./helpers/parse.ts";
import { sqliteOf } from "../../src/store/sqlite/driver.ts";

/** Message i bounces; its notice is delivered and removed before the line naming it (LINK). */
function story(i: number, second = 54) {
  const t = `Dec 06 09:${String(6 + Math.floor(second / 60)).padStart(2, "0")}:${String(second % 60).padStart(2, "0")} mx`;
  const orig = (0xa1dad288224 + 16 * i).toString(16).toUpperCase();
  const notice = (0xa5b3f288226 + 16 * i).toString(16).toUpperCase();
  return {
    orig,
    notice,
    held: [
      `${t} postfix/cleanup[32145]: ${orig}: message-id=<bounce-${i}@hookd.test>`,
      `${t} postfix/qmgr[32118]: ${orig}: from=<sender@sink.test>, size=413, nrcpt=1 (queue active)`,
      `${t} postfix/smtp[32147]: ${orig}: to=<hard${i}@sink.test>, relay=127.0.0.1[127.0.0.1]:39435, delay=0.01, delays=0/0/0/0.01, dsn=5.1.1, status=bounced (host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <hard${i}@sink.test>: user unknown (in reply to RCPT TO command))`,
      `${t} postfix/cleanup[32145]: ${notice}: message-id=<20261206090654.${notice}@mx.hookd.test>`,
      `${t} postfix/qmgr[32118]: ${notice}: from=<>, size=2361, nrcpt=1 (queue active)`,
      `${t} postfix/smtp[32147]: ${notice}: to=<sender@sink.test>, relay=127.0.0.1[127.0.0.1]:39435, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as SINK2)`,
      `${t} postfix/qmgr[32118]: ${notice}: removed`,
    ],
    named: [
      `${t} postfix/bounce[32150]: ${orig}: sender non-delivery notification: ${notice}`,
      `${t} postfix/qmgr[32118]: ${orig}: removed`,
    ],
  };
}

const text = (lines: string[]) => lines.map((l) => `${l}\n`).join("");

/** event_id → body, of the events a straight parse of the file gives (flushed at its end). */
function reference(log: string): Map<string, string> {
  const p = createLogParser({ format: "postfix", host: "mx1" });
  const lines = fs.readFileSync(log, "utf8").split("\n").filter(Boolean);
  const events: Event[] = [...lines.flatMap((l) => p.feed(l)), ...p.flush()];
  return new Map(events.map((e) => [e.event_id, JSON.stringify(e)]));
}

function storedEvents(db: Database): Map<string, string> {
  const rows = db.query("SELECT event_id, body FROM events").all() as { event_id: string; body: string }[];
  return new Map(rows.map((r) => [r.event_id, r.body]));
}

type Fixture = { dir: string; log: string; store: Store; source: SourceConfig };

function fixture(): Fixture {
  const dir = tempDir();
  const log = path.join(dir, "mail.log");
  fs.writeFileSync(log, "");
  const store = openStore(path.join(dir, "hookd.db"));
  return { dir, log, store, source: { path: log, format: "postfix", start_at: "beginning", host: "mx1", rotate_wait: 5000 } };
}

function cleanup(f: Fixture) {
  void f.store.close();
  fs.rmSync(f.dir, { recursive: true, force: true });
}

function start(f: Fixture, makeParser = inThreadParser, holdIdleMs = 600_000, log = silentLogger) {
  return startSource(f.store, f.source, log, { onEvents: () => {}, onLines: () => {} }, makeParser, { holdIdleMs });
}

/** The saved position and correlation state, once the source has saved it at the file's end. */
async function savedAtEnd(f: Fixture) {
  return eventually(
    async () => {
      const cp = await f.store.ingest.checkpoint<Snapshot>(f.log);
      if (cp && cp.checkpoint.offset === fs.statSync(f.log).size) return cp;
      throw new Error(`not saved at the end yet: ${JSON.stringify(cp?.checkpoint)}`);
    },
    { timeoutMs: 10_000 },
  );
}

const heldQids = (s: Snapshot | null) => (s?.holds ?? []).map(([k]) => k.split("|").at(-1));
const notices = (events: Map<string, string>) =>
  [...events.values()].map((b) => JSON.parse(b) as Event).filter((e) => e.mail_from === "" && e.type !== "bounce");

describe("a hold across a restart of the source", () => {
  test("stopped in the middle of a hold, started again: the events come once, with their notice", async () => {
    const f = fixture();
    const s = story(0);
    try {
      fs.appendFileSync(f.log, text(s.held));
      let runner = await start(f);
      const cp = await savedAtEnd(f);
      // Caught up and saved: the original's events are stored, the notice's are in the saved state.
      expect(heldQids(cp.correlation)).toEqual([s.notice]);
      expect([...storedEvents(sqliteOf(f.store)).values()].map((b) => (JSON.parse(b) as Event).queue_id)).toEqual([s.orig, s.orig]);
      await runner.stop();

      fs.appendFileSync(f.log, text(s.named));
      runner = await start(f);
      try {
        const after = await savedAtEnd(f);
        await eventually(() => storedEvents(sqliteOf(f.store)).size === 4, { timeoutMs: 10_000 });
        expect(heldQids(after.correlation)).toEqual([]);
      } finally {
        await runner.stop();
      }
      expect(storedEvents(sqliteOf(f.store))).toEqual(reference(f.log));
      const got = notices(storedEvents(sqliteOf(f.store)));
      expect(got.map((e) => `${e.type} ${e.queue_id} ${(e as { notice?: { of_queue_id: string } }).notice?.of_queue_id}`).sort()).toEqual([
        `delivery ${s.notice} ${s.orig}`,
        `injection ${s.notice} ${s.orig}`,
      ]);
    } finally {
      cleanup(f);
    }
  });

  test("a parse thread that dies in the middle of a hold: read again from the saved state, nothing lost or doubled", async () => {
    const f = fixture();
    const s = story(0);
    const die = path.join(f.dir, "die");
    fs.writeFileSync(die, "");
    const logs: { msg: string; error?: string }[] = [];
    const log = createLogger({ level: "warn", write: (line) => logs.push(JSON.parse(line)) });
    try {
      fs.appendFileSync(f.log, text(s.held));
      const runner = await start(f, (setup, state) => workerParser(setup, state, DYING_PARSE_WORKER), 600_000, log);
      try {
        expect(heldQids((await savedAtEnd(f)).correlation)).toEqual([s.notice]);
        fs.appendFileSync(f.log, text([`${DIE_ONCE} ${die}`, ...s.named]));
        await eventually(() => !fs.existsSync(die) && storedEvents(sqliteOf(f.store)).size === 4, { timeoutMs: 20_000 });
        expect(heldQids((await savedAtEnd(f)).correlation)).toEqual([]);
      } finally {
        await runner.stop();
      }
      expect(storedEvents(sqliteOf(f.store))).toEqual(reference(f.log));
      expect(notices(storedEvents(sqliteOf(f.store))).every((e) => (e as { notice?: unknown }).notice !== undefined)).toBe(true);
      expect(logs.filter((l) => l.msg === "could not store events read from the log; reading them again").map((l) => l.error)).toEqual([
        "the parse worker exited (exit code 1)",
      ]);
    } finally {
      cleanup(f);
    }
  }, 30_000);
});

describe("a source that goes idle in the middle of a hold", () => {
  test("commits the held events without notice, with the state after them, at the position read", async () => {
    const f = fixture();
    const s = story(0);
    try {
      fs.appendFileSync(f.log, text(s.held));
      const runner = await start(f, inThreadParser, 300);
      try {
        await eventually(() => storedEvents(sqliteOf(f.store)).size === 4, { timeoutMs: 10_000 });
        const cp = await savedAtEnd(f);
        expect(heldQids(cp.correlation)).toEqual([]);
      } finally {
        await runner.stop();
      }
      expect(storedEvents(sqliteOf(f.store))).toEqual(reference(f.log));
      const got = notices(storedEvents(sqliteOf(f.store)));
      expect(got.map((e) => `${e.type} ${e.queue_id}`).sort()).toEqual([`delivery ${s.notice}`, `injection ${s.notice}`]);
      expect(got.some((e) => "notice" in e)).toBe(false);
    } finally {
      cleanup(f);
    }
  });
});

describe("holds through SIGKILL", () => {
  test("hookd killed while notices wait for their line: every notice stored once, each with its notice", async () => {
    const dir = tempDir();
    const log = path.join(dir, "mail.log");
    const store = path.join(dir, "hookd.db");
    fs.writeFileSync(
      path.join(dir, "hookd.toml"),
      `[[sources]]\npath = "${log}"\nformat = "postfix"\nstart_at = "beginning"\nhost = "mx1"\n`,
    );
    fs.writeFileSync(log, "");
    const env = { HOOKD_STORAGE_PATH: store };
    const N = 40;
    const writer = (async () => {
      for (let i = 0; i < N; i++) {
        // The line naming the notice comes a while after the notice's own lines (in the same
        // second of log time): most of the time hookd has read and saved a position mid-hold.
        const s = story(i, 54 + i);
        fs.appendFileSync(log, text(s.held));
        await Bun.sleep(120);
        fs.appendFileSync(log, text(s.named));
        await Bun.sleep(10);
      }
    })();
    let h: SpawnedHookd = await spawnHookd({ cwd: dir, env });
    try {
      for (let kill = 0; kill < 4; kill++) {
        await Bun.sleep(200 + Math.floor(Math.random() * 400));
        h.proc.kill(9);
        await h.exited;
        h = await spawnHookd({ cwd: dir, env });
      }
      await writer;
      const expected = reference(log);
      expect(expected.size).toBe(4 * N);
      const db = new Database(store, { readonly: true });
      try {
        await eventually(() => storedEvents(db).size === expected.size, { timeoutMs: 60_000 });
        expect(storedEvents(db)).toEqual(expected);
        const got = notices(storedEvents(db));
        expect(got.length).toBe(2 * N);
        expect(got.filter((e) => (e as { notice?: unknown }).notice === undefined).map((e) => e.queue_id)).toEqual([]);
      } finally {
        db.close();
      }
    } finally {
      h.proc.kill("SIGTERM");
      await h.exited;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
