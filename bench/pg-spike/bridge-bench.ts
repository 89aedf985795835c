// Option B measured: a synchronous bridge (bridge.ts) against Bun's SQL awaited directly, with
// SQLite's synchronous call for scale; then what breaks and how the bridge comes back.
//   bun bench/pg-spike/bridge-bench.ts
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { insertRows } from "../../src/store/sqlite/events.ts";
import { ROW_WIDTH, type EventRows } from "../../src/store/event-rows.ts";
import { openDatabase as openStore } from "../../src/store/sqlite/db.ts";
import { BridgeError, createSyncPg } from "./bridge.ts";
import { connect, fmtUs, rowsOf, table, timeRounds, withPg } from "./common.ts";
import { PG_BASELINE } from "./schema-pg.ts";
import { CLAIM_SKIP_LOCKED, INSERT_EVENTS, insertEventsParams } from "./pg-sql.ts";

const ROUNDS_FAST = Number(process.env.ROUNDS ?? 2000);
const ROUNDS_INSERT = Number(process.env.INSERTS ?? 20);

const dir = mkdtempSync(path.join(os.tmpdir(), "hookd-pgspike-"));
await withPg(async (pg) => {
  // Several connections: one is reserved for the awaited measurements, others serve the checks.
  const admin = connect(pg.url, 4);
  await admin.unsafe(PG_BASELINE);
  // 100 webhooks with 3 pending batches each, for the claims.
  await admin.unsafe(`INSERT INTO webhooks (id, name, target, events, secret, created_at, updated_at)
    SELECT 'wh_' || i, 'w', 'http://127.0.0.1:9/', '["*"]', 'whsec_x', 0, 0 FROM generate_series(0, 99) i`);
  await admin.unsafe(`INSERT INTO batches (id, webhook_id, event_count, bytes, first_seq, last_seq, body, created_at, next_attempt_at)
    SELECT 'msg_' || i || '_' || j, 'wh_' || i, 100, 1000, 0, 0, '\\x', j, 0 FROM generate_series(0, 99) i, generate_series(0, 2) j`);

  const sqlite = openStore(path.join(dir, "s.db"));
  const one = sqlite.sqlite.prepare("SELECT 1 AS one");
  const direct = await admin.reserve();
  const bridge = createSyncPg(pg.url, { deadlineMs: 10_000 });

  // --- latency: a trivial SELECT ---
  const sel = await timeRounds(ROUNDS_FAST, {
    "SQLite sync": () => one.get(),
    "PG awaited (Bun SQL)": () => direct`SELECT 1 AS one`,
    "PG bridged (sync)": () => bridge.query("SELECT 1 AS one"),
  });

  // --- a claim with FOR UPDATE SKIP LOCKED, then its release (so the next round finds it due) ---
  let w = 0;
  const claimArgs = () => [`tok_${w}`, Date.now() + 60_000, Date.now(), `wh_${w++ % 100}`];
  const RELEASE = "UPDATE batches SET lease_token = NULL, lease_until = NULL WHERE id = $1";
  const claim = await timeRounds(ROUNDS_FAST / 4, {
    "PG awaited (Bun SQL)": async () => {
      const [b] = await direct.unsafe(CLAIM_SKIP_LOCKED, claimArgs());
      await direct.unsafe(RELEASE, [(b as { id: string }).id]);
    },
    "PG bridged (sync)": () => {
      const [b] = bridge.query<{ id: string }>(CLAIM_SKIP_LOCKED, claimArgs());
      bridge.run(RELEASE, [b!.id]);
    },
  });

  // --- 5,000 event rows in one transaction (fsync on: a durable commit, as POST /events promises) ---
  let k = 0;
  const perRow = (rows: EventRows, exec: (t: string, p: unknown[]) => unknown) => {
    for (let i = 0, c = 0; i < rows.bodies.length; i++, c += ROW_WIDTH) {
      exec(
        `INSERT INTO events (event_id, type, ts, host, queue_id, message_id, mail_from, rcpt_to, custom_type, source, body, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (event_id) DO NOTHING`,
        [...rows.cols.slice(c, c + ROW_WIDTH), "api", rows.bodies[i], Date.now()],
      );
    }
  };
  const ins = await timeRounds(
    ROUNDS_INSERT,
    {
      "SQLite sync (prepared, per row)": () => insertRows(sqlite.sqlite, rowsOf(5000, `s${k++}`), [], "api"),
      "PG awaited: 1 statement (json_to_recordset)": () =>
        direct.begin(async (t) => t.unsafe(INSERT_EVENTS, insertEventsParams(rowsOf(5000, `a${k++}`), "api", Date.now()))),
      "PG awaited: 5,000 statements, pipelined": () =>
        direct.begin(async (t) => {
          const rows = rowsOf(5000, `p${k++}`);
          const ps: Promise<unknown>[] = [];
          perRow(rows, (text, params) => ps.push(t.unsafe(text, params)));
          await Promise.all(ps);
        }),
      "PG bridged: 1 statement (json_to_recordset)": () =>
        bridge.transaction(() => bridge.query(INSERT_EVENTS, insertEventsParams(rowsOf(5000, `b${k++}`), "api", Date.now()))),
      "PG bridged: 5,000 statements": () =>
        bridge.transaction(() => perRow(rowsOf(5000, `r${k++}`), (text, params) => bridge.run(text, params))),
    },
    1,
  );

  const rows: (string | number)[][] = [];
  for (const [what, stats] of [
    ["SELECT 1", sel],
    ["claim (SKIP LOCKED) + release", claim],
    ["INSERT 5,000 events, 1 tx", ins],
  ] as const) {
    for (const [v, s] of Object.entries(stats)) rows.push([what, v, fmtUs(s.p50Us), fmtUs(s.meanUs), fmtUs(s.p99Us)]);
  }
  table(
    "Round trips: SQLite, PostgreSQL awaited, PostgreSQL through the synchronous bridge (unix socket, fsync on)",
    ["operation", "how", "p50", "mean", "p99"],
    rows,
  );

  // --- the calling thread is blocked meanwhile: how late does a 1 ms timer fire? ---
  const late: number[] = [];
  const tick = () => {
    const due = performance.now() + 1;
    setTimeout(() => late.push(performance.now() - due), 1);
  };
  for (let i = 0; i < 20; i++) {
    tick();
    bridge.transaction(() => bridge.query(INSERT_EVENTS, insertEventsParams(rowsOf(5000, `late${i}`), "api", Date.now())));
    await Bun.sleep(5);
  }
  late.sort((a, b) => a - b);
  console.log(
    `\nA 1 ms timer set just before a bridged 5,000-row insert fires ${late[10]!.toFixed(1)} ms late (median of 20): the thread's event loop (API, attempts in flight) stops for the whole call, as it does for SQLite's synchronous insert today.`,
  );
  // --- what breaks ---
  const fail: string[][] = [];
  const timed = (label: string, fn: () => unknown) => {
    const t = performance.now();
    let outcome: string;
    try {
      fn();
      outcome = "ok";
    } catch (err) {
      outcome =
        err instanceof BridgeError
          ? `${err.code}: ${err.message.slice(0, 70)}`
          : `${(err as Error).name}: ${(err as Error).message.slice(0, 70)}`;
    }
    fail.push([label, `${(performance.now() - t).toFixed(0)} ms`, outcome]);
  };
  const short = createSyncPg(pg.url, { deadlineMs: 1000 });
  short.query("SELECT 1");
  timed("unique violation inside a transaction", () =>
    short.transaction(() =>
      short.run("INSERT INTO api_keys VALUES ('k', 'n', 'p', 'h', '[]', 0, NULL, NULL), ('k', 'n', 'p', 'h2', '[]', 0, NULL, NULL)"),
    ),
  );
  timed("  next call on the same bridge", () => short.query("SELECT 1"));
  timed("statement longer than the deadline (pg_sleep 3 s)", () => short.query("SELECT pg_sleep(3)"));
  timed("  next call (a new worker)", () => short.query("SELECT 1"));
  await Bun.sleep(200);
  const [left] = await admin`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active'`;
  fail.push(["  pg_sleep still running on the server after the deadline", "", String((left as { n: number }).n)]);
  const locker = await admin.reserve();
  await locker.unsafe("BEGIN");
  await locker.unsafe("SELECT 1 FROM webhooks WHERE id = 'wh_1' FOR UPDATE");
  timed("row locked by another node (UPDATE waits)", () => short.run("UPDATE webhooks SET name = 'x' WHERE id = 'wh_1'"));
  await locker.unsafe("ROLLBACK");
  locker.release();
  timed("  next call", () => short.query("SELECT 1"));
  timed("worker dies while the thread waits for its answer", () => {
    short.killWorker();
    short.query("SELECT 1");
  });
  timed("  next call (a new worker)", () => short.query("SELECT 1"));
  short.killWorker();
  await Bun.sleep(100);
  timed("worker died between two calls", () => short.query("SELECT 1"));
  direct.release();
  await admin.close();
  await pg.halt();
  timed("server stopped (pg_ctl stop -m fast)", () => short.query("SELECT 1"));
  timed("  again, still stopped", () => short.query("SELECT 1"));
  await pg.resume();
  timed("  after the server started again", () => short.query("SELECT 1"));
  timed("  and again", () => short.query("SELECT 1"));
  table("What breaks (deadline 1,000 ms)", ["case", "time to answer", "outcome"], fail);

  bridge.close();
  short.close();
  sqlite.close();
});
rmSync(dir, { recursive: true, force: true });
