// Ordering across nodes: the batcher's cursor assumes seq order = commit order. With several
// writers in PostgreSQL a seq taken earlier can commit later, and a cursor that moved past it
// never comes back: the event is skipped for good. This shows the skip, then two fixes:
//
//   none      seq from an identity column, cursor on seq (today's SQL, run on PostgreSQL)
//   lock      every event-inserting transaction first takes pg_advisory_xact_lock(K): event
//             transactions commit one at a time, in seq order (SQLite's single writer, again)
//   horizon   each row keeps its transaction id (xid8); the cursor is (xid, seq), and a
//             reader takes only rows whose xid is below the oldest transaction still running
//             (pg_snapshot_xmin(pg_current_snapshot())): no row can appear behind it any more
//
//   bun bench/pg-spike/ordering.ts      (ROUNDS=5 slices of SECONDS=1 per fix, interleaved; WRITERS=3)
import type { SQL } from "bun";
import { connect, table, withPg } from "./common.ts";

type Mode = "none" | "lock" | "horizon";
const SECONDS = Number(process.env.SECONDS ?? 1);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const WRITERS = Number(process.env.WRITERS ?? 3);
const EVENT_LOCK = 0x686f6f6b6402; // "hookd" 02: any fixed key hookd uses for nothing else

const SCHEMA = `
DROP TABLE IF EXISTS events;
CREATE TABLE events (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id text NOT NULL UNIQUE,
  body text NOT NULL,
  xid xid8 NOT NULL DEFAULT pg_current_xact_id()
);`;
// Only the horizon reader needs it; an index every mode would pay for is left out of the others.
const HORIZON_INDEX = "CREATE INDEX events_xid_seq ON events (xid, seq)";
const BODY = JSON.stringify({ type: "delivery", rcpt_to: "someone@example.org", response: "250 2.0.0 OK ".repeat(12) });

/** One event transaction as a node commits it: the lock first (mode lock), then the rows. */
async function writeTx(conn: SQL, mode: Mode, ids: string[]): Promise<void> {
  await conn.begin(async (tx) => {
    if (mode === "lock") await tx`SELECT pg_advisory_xact_lock(${EVENT_LOCK}::bigint)`;
    await tx`INSERT INTO events (event_id, body) SELECT id, ${BODY} FROM unnest(${tx.array(ids, "TEXT")}::text[]) AS id ON CONFLICT (event_id) DO NOTHING`;
  });
}

/** A delivery cursor: reads what follows it, and moves past what it read. */
function createReader(conn: SQL, mode: Mode) {
  let seq = 0n;
  let xid = "0";
  const seen = new Set<string>();
  return {
    seen,
    async poll(): Promise<number> {
      const rows =
        mode === "horizon"
          ? await conn`SELECT seq, xid::text AS xid FROM events
                       WHERE (xid, seq) > (${xid}::xid8, ${seq.toString()}::bigint) AND xid < pg_snapshot_xmin(pg_current_snapshot())
                       ORDER BY xid, seq LIMIT 5000`
          : await conn`SELECT seq FROM events WHERE seq > ${seq.toString()}::bigint ORDER BY seq LIMIT 5000`;
      for (const r of rows as { seq: string; xid?: string }[]) {
        seen.add(r.seq);
        seq = BigInt(r.seq);
        if (r.xid) xid = r.xid;
      }
      return rows.length;
    },
  };
}

/** The skip made to happen: A takes a seq, B takes a later one and commits, the reader moves, A commits. */
async function forced(url: string, mode: Mode): Promise<{ committed: number; seen: number; blocked: boolean }> {
  const [a, b, r] = [connect(url), connect(url), connect(url)];
  const admin = connect(url);
  await admin.unsafe(SCHEMA);
  if (mode === "horizon") await admin.unsafe(HORIZON_INDEX);
  const reader = createReader(r, mode);
  const ra = await a.reserve();
  await ra.unsafe("BEGIN");
  if (mode === "lock") await ra`SELECT pg_advisory_xact_lock(${EVENT_LOCK}::bigint)`;
  await ra`INSERT INTO events (event_id, body) VALUES ('A', ${BODY})`;
  // B commits a later seq while A is open (with the lock, B waits for A instead).
  let bDone = false;
  const bTx = writeTx(b, mode, ["B"]).then(() => (bDone = true));
  await Bun.sleep(100);
  const blocked = !bDone;
  await reader.poll();
  await ra.unsafe("COMMIT");
  ra.release();
  await bTx;
  for (let i = 0; i < 3; i++) await reader.poll();
  const [{ n }] = (await admin`SELECT count(*)::int AS n FROM events`) as [{ n: number }];
  await Promise.all([a, b, r, admin].map((c) => c.close()));
  return { committed: n, seen: reader.seen.size, blocked };
}

/** WRITERS nodes inserting for SECONDS while one reader follows; then the reader catches up. */
async function load(url: string, mode: Mode, rowsPerTx: number) {
  const admin = connect(url);
  await admin.unsafe(SCHEMA);
  if (mode === "horizon") await admin.unsafe(HORIZON_INDEX);
  const writers = Array.from({ length: WRITERS }, () => connect(url));
  const rconn = connect(url);
  const reader = createReader(rconn, mode);
  const until = performance.now() + SECONDS * 1000;
  let txs = 0;
  const run = async (w: SQL, k: number) => {
    for (let n = 0; performance.now() < until; n++) {
      await writeTx(
        w,
        mode,
        Array.from({ length: rowsPerTx }, (_, i) => `${k}-${n}-${i}`),
      );
      txs++;
    }
  };
  const t0 = performance.now();
  const writing = Promise.all(writers.map(run));
  let stop = false;
  const following = (async () => {
    while (!stop) if ((await reader.poll()) === 0) await Bun.sleep(1);
  })();
  await writing;
  const secs = (performance.now() - t0) / 1000;
  stop = true;
  await following;
  while ((await reader.poll()) > 0);
  const [{ n }] = (await admin`SELECT count(*)::int AS n FROM events`) as [{ n: number }];
  await Promise.all([admin, rconn, ...writers].map((c) => c.close()));
  return { secs, txs, committed: n, skipped: n - reader.seen.size };
}

await withPg(async (pg) => {
  const forcedRows: (string | number)[][] = [];
  for (const mode of ["none", "lock", "horizon"] as Mode[]) {
    const f = await forced(pg.url, mode);
    forcedRows.push([mode, f.committed, f.seen, f.committed - f.seen, f.blocked ? "waited for A's commit" : "committed at once"]);
  }
  table(
    "Forced interleaving: A takes a seq, B commits a later one, the reader reads, A commits",
    ["fix", "committed", "read", "skipped", "B"],
    forcedRows,
  );

  // Slices of each fix in turn, in a fresh order each round: the machine's load falls on all alike.
  const rows: (string | number)[][] = [];
  for (const rowsPerTx of [1000, 10]) {
    const sum = new Map<Mode, { secs: number; txs: number; committed: number; skipped: number }>();
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of (["none", "lock", "horizon"] as Mode[]).sort(() => Math.random() - 0.5)) {
        const x = await load(pg.url, mode, rowsPerTx);
        const acc = sum.get(mode) ?? { secs: 0, txs: 0, committed: 0, skipped: 0 };
        sum.set(mode, {
          secs: acc.secs + x.secs,
          txs: acc.txs + x.txs,
          committed: acc.committed + x.committed,
          skipped: acc.skipped + x.skipped,
        });
      }
    }
    const rate = (m: Mode) => sum.get(m)!.committed / sum.get(m)!.secs;
    for (const mode of ["none", "lock", "horizon"] as Mode[]) {
      const x = sum.get(mode)!;
      rows.push([
        `${rowsPerTx} rows/tx`,
        mode,
        Math.round(rate(mode)),
        Math.round(x.txs / x.secs),
        (rate(mode) / rate("none")).toFixed(2),
        x.committed,
        x.skipped,
      ]);
    }
  }
  table(
    `${WRITERS} concurrent writers, one reader following; ${ROUNDS} × ${SECONDS} s per fix, interleaved (fsync on, unix socket)`,
    ["workload", "fix", "events/s", "tx/s", "× none", "committed", "skipped by the reader"],
    rows,
  );
});
