// One suite, two drivers: the same cases against SQLite and PostgreSQL, as hono runs one test
// suite over its routers. In the real tree this is test/store/driver.suite.ts under bun:test
// (describe.each over the drivers); here a small runner prints a table.
//   bun bench/pg-spike/driver/suite.ts
// "Two nodes" on SQLite are two connections to one file (as the CLI and a server are today).
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { rowsOf, table, withPg } from "../common.ts";
import { openPgDriver } from "./postgres.ts";
import { openSqliteDriver } from "./sqlite.ts";
import type { StoreDriver } from "./types.ts";

type Env = { open(node: string): Promise<StoreDriver> };
type Case = [name: string, run: (env: Env) => Promise<void>];

function expect(cond: boolean, what: string): void {
  if (!cond) throw new Error(what);
}

const LEASE = 60_000;
const T = 1_800_000_000_000;

const cases: Case[] = [
  [
    "events stored once: ids already stored are skipped, order kept",
    async (env) => {
      const s = await env.open("a");
      const first = await s.insertEvents(rowsOf(50, "e"), "api", T);
      const again = await s.insertEvents(rowsOf(60, "e"), "api", T);
      expect(
        first.inserted === 50 && again.inserted === 10 && again.duplicates === 50,
        `inserted ${first.inserted}/${again.inserted}, duplicates ${again.duplicates}`,
      );
      const seen = await s.eventsAfter(0, 1000);
      expect(seen.length === 60 && seen.every((e, i) => i === 0 || e.seq > seen[i - 1]!.seq), "60 events in seq order");
    },
  ],
  [
    "ingest commit: events and position together; a failing chunk stores neither",
    async (env) => {
      const s = await env.open("a");
      await s.commitChunk(rowsOf(10, "c1"), "/var/log/mail.log", { dev: 1, ino: 2, fingerprint: "f", offset: 100 }, T);
      const bad = rowsOf(10, "c2");
      bad.cols[9 * 5] = null as unknown as string; // one event without an id: the chunk must fail whole
      const failed = await s.commitChunk(bad, "/var/log/mail.log", { dev: 1, ino: 2, fingerprint: "f", offset: 200 }, T).then(
        () => false,
        () => true,
      );
      const cp = await s.loadCheckpoint("/var/log/mail.log");
      const n = (await s.eventsAfter(0, 1000)).length;
      expect(failed && cp?.offset === 100 && n === 10, `failed ${failed}, offset ${cp?.offset}, events ${n}`);
    },
  ],
  [
    "concurrent writers on two nodes: a reader following seq misses nothing",
    async (env) => {
      const [a, b, r] = [await env.open("a"), await env.open("b"), await env.open("r")];
      let cursor = 0;
      let read = 0;
      let writing = true;
      const follow = (async () => {
        for (;;) {
          // Only a read that began after the last commit may end the loop.
          const finished = !writing;
          const got = await r.eventsAfter(cursor, 10_000);
          read += got.length;
          if (got.length) cursor = got[got.length - 1]!.seq;
          else if (finished) return;
          else await Bun.sleep(1);
        }
      })();
      await Promise.all(
        [a, b].map(async (s, k) => {
          for (let i = 0; i < 40; i++) await s.insertEvents(rowsOf(25, `n${k}-${i}`), "api", T);
        }),
      );
      writing = false;
      await follow;
      expect(read === 2000, `read ${read} of 2000`);
    },
  ],
  [
    "a cut moves the cursor only from where its plan started",
    async (env) => {
      const s = await env.open("a");
      await s.createWebhook("w1", T);
      const first = await s.cutBatch("w1", 0, 10, new Uint8Array([91, 93]), T);
      const stale = await s.cutBatch("w1", 0, 20, new Uint8Array([91, 93]), T);
      expect(first && !stale, `first ${first}, stale ${stale}`);
    },
  ],
  [
    "one node at a time has a webhook's head; after the lease another sends it; the late outcome is refused",
    async (env) => {
      const [a, b] = [await env.open("a"), await env.open("b")];
      await a.createWebhook("w1", T);
      await a.cutBatch("w1", 0, 10, new Uint8Array([1]), T);
      await a.cutBatch("w1", 10, 20, new Uint8Array([2]), T);
      const [ca] = await a.claimDue(["w1"], T + 1, LEASE);
      const meanwhile = await b.claimDue(["w1"], T + 2, LEASE);
      const [cb] = await b.claimDue(["w1"], T + LEASE + 10, LEASE);
      expect(
        ca !== undefined && meanwhile.length === 0 && cb?.batchId === ca.batchId,
        `a ${ca?.batchId}, meanwhile ${meanwhile.length}, b ${cb?.batchId}`,
      );
      const outcome = (c: typeof ca, at: number) => ({
        batchId: c!.batchId,
        webhookId: "w1",
        token: c!.token,
        attempt: 1,
        delivered: true,
        nextAttemptAt: at,
        at,
      });
      const [late] = await a.recordOutcomes([outcome(ca, T + LEASE + 20)]);
      const [ok] = await b.recordOutcomes([outcome(cb, T + LEASE + 30)]);
      const [next] = await a.claimDue(["w1"], T + LEASE + 40, LEASE);
      expect(!late && ok === true && next !== undefined && next.batchId !== ca!.batchId, `late ${late}, ok ${ok}, next ${next?.batchId}`);
    },
  ],
];

const results: string[][] = [];
async function runAll(driver: string, fresh: () => Promise<Env & { cleanup(): Promise<void> }>) {
  for (const [name, run] of cases) {
    const env = await fresh();
    const opened: StoreDriver[] = [];
    const t = performance.now();
    let outcome = "pass";
    try {
      await run({ open: async (node) => (opened.push(await env.open(node)), opened[opened.length - 1]!) });
    } catch (err) {
      outcome = `FAIL: ${(err as Error).message.slice(0, 80)}`;
    }
    results.push([name, driver, outcome, `${(performance.now() - t).toFixed(0)} ms`]);
    for (const d of opened) await d.close();
    await env.cleanup();
  }
}

const dir = mkdtempSync(path.join(os.tmpdir(), "hookd-pgspike-"));
let n = 0;
await runAll("sqlite", async () => {
  const file = path.join(dir, `s${n++}.db`);
  return { open: async (node) => openSqliteDriver(file, node), cleanup: async () => {} };
});
await withPg(
  async (pg) => {
    await runAll("postgres", async () => {
      const url = await pg.createDatabase();
      return { open: (node) => openPgDriver(url, node), cleanup: async () => {} };
    });
  },
  { durable: false },
);
rmSync(dir, { recursive: true, force: true });
table("The shared store suite, both drivers", ["case", "driver", "result", "time"], results);
if (results.some((r) => r[2] !== "pass")) process.exitCode = 1;
