// Option A/C on SQLite's hot paths: what does an async store cost when SQLite stays
// synchronous underneath?   bun bench/pg-spike/async-cost.ts
//
//   sync      today: the caller runs the transaction synchronously.
//   unit      (option C) one async store method per unit of work; the SQLite driver runs the
//             whole transaction synchronously inside it: one await, no lock needed.
//   per-call  (option A) every store function returns a Promise; the caller's transaction spans
//             awaits, so an async mutex per connection keeps other callers out of it.
//   per-row   the worst case: a generic async SQL layer, one await per statement (A, fine-grained).
//   Bun.SQL   Bun's own SQL client on its sqlite adapter (async, one await per statement).
import { SQL } from "bun";
import type { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { newId } from "../../src/lib/ids.ts";
import type { ClaimedBatch } from "../../src/store/driver.ts";
import { claimBatch, headBatches, insertBatchGroup, recordAttempt } from "../../src/store/sqlite/batches.ts";
import { saveCheckpointJson } from "../../src/store/sqlite/checkpoints.ts";
import { openDatabase as openStore } from "../../src/store/sqlite/db.ts";
import { insertRows, insertRowsTx } from "../../src/store/sqlite/events.ts";
import { ROW_WIDTH, type EventRows } from "../../src/store/event-rows.ts";
import { fmtUs, rowsOf, table, timeRounds, type Stats } from "./common.ts";

/** One async mutex per connection: a transaction that awaits must keep every other caller out. */
export function createMutex() {
  let tail: Promise<void> = Promise.resolve();
  return async function locked<T>(fn: () => Promise<T>): Promise<T> {
    const prev = tail;
    let release!: () => void;
    tail = new Promise<void>((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  };
}

/** BEGIN IMMEDIATE … COMMIT around an async body, under the connection's mutex. */
function asyncTx(db: Database, lock: ReturnType<typeof createMutex>) {
  return <T>(fn: () => Promise<T>) =>
    lock(async () => {
      db.run("BEGIN IMMEDIATE");
      try {
        const r = await fn();
        db.run("COMMIT");
        return r;
      } catch (err) {
        db.run("ROLLBACK");
        throw err;
      }
    });
}

const a = <T>(v: T): Promise<T> => Promise.resolve(v);
const N_CHUNKS = Number(process.env.CHUNKS ?? 40);
const N_POSTS = Number(process.env.POSTS ?? 300);
const N_PASSES = Number(process.env.PASSES ?? 200);

const dir = mkdtempSync(path.join(os.tmpdir(), "hookd-pgspike-"));
const results: [string, string, Stats][] = [];
const add = (path: string, variant: string, s: Stats) => results.push([path, variant, s]);

try {
  // --- 1. the ingest commit: 5,000 rows + the checkpoint, synchronous=NORMAL (ingest worker) ---
  {
    const store = openStore(path.join(dir, "ingest.db"));
    const db = store.sqlite;
    db.run("PRAGMA synchronous = NORMAL");
    const lock = createMutex();
    const tx = asyncTx(db, lock);
    const cp = { dev: 1, ino: 2, fingerprint: "f", offset: 0 };
    const chunk = (k: string) => rowsOf(5000, k);
    const commit = db.transaction((rows: EventRows) => {
      insertRowsTx(db, rows, "/var/log/mail.log");
      saveCheckpointJson(db, "/var/log/mail.log", cp, "{}");
    });
    let k = 0;
    const fresh = () => chunk(`c${k++}`);
    const insert = db.prepare(
      `INSERT INTO events (event_id, type, ts, host, queue_id, message_id, mail_from, rcpt_to, custom_type, source, body, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(event_id) DO NOTHING`,
    );
    // Bun's SQL client on the same file through its sqlite adapter.
    const bsql = new SQL(`sqlite://${path.join(dir, "ingest.db")}`);
    await bsql`PRAGMA synchronous = NORMAL`;
    const stats = await timeRounds(N_CHUNKS, {
      sync: () => commit.immediate(fresh()),
      unit: async () => await (async () => commit.immediate(fresh()))(),
      "per-call": () =>
        tx(async () => {
          const rows = fresh();
          await a(insertRowsTx(db, rows, "/var/log/mail.log"));
          await a(saveCheckpointJson(db, "/var/log/mail.log", cp, "{}"));
        }),
      "per-row": () =>
        tx(async () => {
          const { cols, bodies } = fresh();
          const now = Date.now();
          for (let i = 0, c = 0; i < bodies.length; i++, c += ROW_WIDTH) {
            await a(
              insert.run(
                cols[c]!,
                cols[c + 1]!,
                cols[c + 2]!,
                cols[c + 3]!,
                cols[c + 4]!,
                cols[c + 5]!,
                cols[c + 6]!,
                cols[c + 7]!,
                cols[c + 8]!,
                "/var/log/mail.log",
                bodies[i]!,
                now,
              ),
            );
          }
          await a(saveCheckpointJson(db, "/var/log/mail.log", cp, "{}"));
        }),
      "Bun.SQL sqlite": () =>
        bsql.begin(async (t) => {
          const { cols, bodies } = fresh();
          const now = Date.now();
          for (let i = 0, c = 0; i < bodies.length; i++, c += ROW_WIDTH) {
            await t`INSERT INTO events (event_id, type, ts, host, queue_id, message_id, mail_from, rcpt_to, custom_type, source, body, received_at)
                    VALUES (${cols[c]}, ${cols[c + 1]}, ${cols[c + 2]}, ${cols[c + 3]}, ${cols[c + 4]}, ${cols[c + 5]}, ${cols[c + 6]}, ${cols[c + 7]}, ${cols[c + 8]}, ${"/var/log/mail.log"}, ${bodies[i]}, ${now})
                    ON CONFLICT(event_id) DO NOTHING`;
          }
        }),
    });
    for (const [v, st] of Object.entries(stats)) add("ingest commit (5,000 rows)", v, st);
    store.close();
    await bsql.close();
  }

  // --- 2. POST /events: insertRows in BEGIN IMMEDIATE, synchronous=FULL (main thread) ---
  for (const n of [1, 100]) {
    const store = openStore(path.join(dir, `post${n}.db`));
    const db = store.sqlite;
    const tx = asyncTx(db, createMutex());
    let k = 0;
    const label = `POST /events (${n} event${n > 1 ? "s" : ""}, fsync)`;
    const stats = await timeRounds(N_POSTS, {
      sync: () => insertRows(db, rowsOf(n, `p${k++}`), [], "api"),
      unit: async () => await (async () => insertRows(db, rowsOf(n, `p${k++}`), [], "api"))(),
      "per-call": () => tx(async () => await a(insertRowsTx(db, rowsOf(n, `p${k++}`), "api"))),
    });
    for (const [v, st] of Object.entries(stats)) add(label, v, st);
    store.close();
  }

  // --- 3. the engine's pass: 100 webhooks; 8 cut, 8 claimed, 8 recorded; one transaction, fsync ---
  {
    const store = openStore(path.join(dir, "engine.db"));
    const db = store.sqlite;
    const tx = asyncTx(db, createMutex());
    const hooks = Array.from({ length: 100 }, (_, i) => `wh_${i}`);
    const ins = db.prepare(
      "INSERT INTO webhooks (id, name, target, events, secret, created_at, updated_at) VALUES (?, ?, 'http://127.0.0.1:9/', '[\"*\"]', 'whsec_x', 0, 0)",
    );
    for (const h of hooks) ins.run(h, h);
    const body = new Uint8Array(20_000).fill(120);
    let claimed: { batch: ClaimedBatch; token: string }[] = [];
    let passNo = 0;
    type Call = <T>(v: T) => T | Promise<T>;
    // The pass as option A would write it: every store call awaited (`c` makes each a Promise).
    async function pass(c: Call) {
      const t = Date.now() + passNo * 1000;
      const group = hooks.slice((passNo * 8) % 96, ((passNo * 8) % 96) + 8);
      passNo++;
      for (const x of claimed) {
        await c(
          recordAttempt(
            db,
            {
              batchId: x.batch.id,
              webhookId: x.batch.webhook_id,
              token: x.token,
              attempt: 1,
              startedAt: t,
              latencyMs: 3,
              responseCode: 200,
              failureCode: null,
              responseSnippet: "ok",
            },
            { kind: "delivered" },
            t,
          ),
        );
      }
      await c(
        insertBatchGroup(
          db,
          { kind: "live", eventCount: 100, firstSeq: passNo * 100, lastSeq: passNo * 100 + 99, body, now: t },
          group.map((w) => ({ id: newId("msg_", t), webhookId: w })),
          passNo * 100 + 99,
        ),
      );
      const next: typeof claimed = [];
      for (const w of hooks) {
        for (const h of await c(headBatches(db, w, 1))) {
          const token = newId("", t);
          const b = await c(claimBatch(db, h.id, token, t, 60_000));
          if (b) next.push({ batch: b, token });
        }
      }
      claimed = next;
    }
    // The same statements without any await, as the engine runs them today.
    const syncPassPlain = db.transaction(() => {
      const t = Date.now() + passNo * 1000;
      const group = hooks.slice((passNo * 8) % 96, ((passNo * 8) % 96) + 8);
      passNo++;
      for (const x of claimed) {
        recordAttempt(
          db,
          {
            batchId: x.batch.id,
            webhookId: x.batch.webhook_id,
            token: x.token,
            attempt: 1,
            startedAt: t,
            latencyMs: 3,
            responseCode: 200,
            failureCode: null,
            responseSnippet: "ok",
          },
          { kind: "delivered" },
          t,
        );
      }
      insertBatchGroup(
        db,
        { kind: "live", eventCount: 100, firstSeq: passNo * 100, lastSeq: passNo * 100 + 99, body, now: t },
        group.map((w) => ({ id: newId("msg_", t), webhookId: w })),
        passNo * 100 + 99,
      );
      const next: typeof claimed = [];
      for (const w of hooks) {
        for (const h of headBatches(db, w, 1)) {
          const token = newId("", t);
          const b = claimBatch(db, h.id, token, t, 60_000);
          if (b) next.push({ batch: b, token });
        }
      }
      claimed = next;
    });
    const label = "engine pass (100 webhooks, 8 cut/claim/record, fsync)";
    const stats = await timeRounds(N_PASSES, {
      sync: () => syncPassPlain.immediate(),
      unit: async () => await (async () => syncPassPlain.immediate())(),
      "per-call": () => tx(() => pass(a)),
    });
    for (const [v, st] of Object.entries(stats)) add(label, v, st);
    store.close();
  }

  const base = new Map(results.filter(([, v]) => v === "sync").map(([p, , s]) => [p, s.meanUs]));
  table(
    "SQLite hot paths: sync vs async (mean per operation; ratio to sync)",
    ["path", "variant", "mean", "p50", "p99", "× sync"],
    results.map(([p, v, s]) => [p, v, fmtUs(s.meanUs), fmtUs(s.p50Us), fmtUs(s.p99Us), (s.meanUs / base.get(p)!).toFixed(3)]),
  );
  console.log(
    `\n(${N_CHUNKS} chunks, ${N_POSTS} posts, ${N_PASSES} passes per variant; temp files on ${os.tmpdir()}; load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")})`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
