// Wake-ups across nodes: a node must notice events committed by another node (and webhook
// changes, batches cut elsewhere). LISTEN/NOTIFY or short polling: latency and CPU of each.
//   bun bench/pg-spike/wakeups.ts
// Bun's SQL (1.3.14) has no LISTEN API; LISTEN/NOTIFY is measured with postgres.js when it is
// installed somewhere outside the tree: PGSPIKE_POSTGRESJS=/tmp/pgspike-deps/node_modules/postgres
import { readFileSync } from "node:fs";
import type { SQL } from "bun";
import { connect, table, withPg } from "./common.ts";

const SAMPLES = Number(process.env.SAMPLES ?? 60);
const IDLE_S = Number(process.env.IDLE_SECONDS ?? 5);
const CHANNEL = "hookd_events";

const SCHEMA = `CREATE TABLE IF NOT EXISTS events (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event_id text UNIQUE, body text)`;

/** CPU seconds a process used so far (user + system), from /proc. */
function cpuOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}
const ownCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function backendPid(sql: SQL): Promise<number> {
  const [r] = (await sql`SELECT pg_backend_pid() AS pid`) as [{ pid: number }];
  return r.pid;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

/** Commits one event every ~30–60 ms and reports when each commit returned. */
async function commits(writer: SQL, n: number, onCommit: (seq: number, at: number) => void, notify = false) {
  for (let i = 0; i < n; i++) {
    await Bun.sleep(30 + Math.random() * 30);
    const [r] = (await writer.begin(async (tx) => {
      const rows = await tx`INSERT INTO events (event_id, body) VALUES (${`w${performance.now()}-${i}`}, '{}') RETURNING seq`;
      if (notify) await tx`SELECT pg_notify(${CHANNEL}, ${String((rows[0] as { seq: string }).seq)})`;
      return rows;
    })) as [{ seq: string }];
    onCommit(Number(r.seq), performance.now());
  }
}

await withPg(async (pg) => {
  const admin = connect(pg.url, 2);
  await admin.unsafe(SCHEMA);
  const rows: (string | number)[][] = [];

  // --- Bun's SQL and LISTEN ---
  const bun = connect(pg.url);
  const hasListen = typeof (bun as unknown as { listen?: unknown }).listen === "function";
  let listenAccepted = "no";
  try {
    const r = await bun.reserve();
    await r.unsafe(`LISTEN ${CHANNEL}`);
    listenAccepted = "accepted by the server, but no API hands the notification over";
    r.release();
  } catch (err) {
    listenAccepted = `refused: ${(err as Error).message}`;
  }
  console.log(`Bun ${Bun.version} SQL: sql.listen ${hasListen ? "exists" : "does not exist"}; LISTEN statement ${listenAccepted}.`);
  await bun.close();

  // --- short polling: latency to notice a commit, and the idle cost ---
  for (const everyMs of [10, 50, 250]) {
    const poller = connect(pg.url);
    const writer = connect(pg.url);
    const pid = await backendPid(poller);
    let known = 0;
    const committedAt = new Map<number, number>();
    const lat: number[] = [];
    let stop = false;
    const polling = (async () => {
      while (!stop) {
        const [r] = (await poller`SELECT COALESCE(MAX(seq), 0)::float8 AS s FROM events`) as [{ s: number }];
        if (r.s > known) {
          const at = performance.now();
          for (let s = known + 1; s <= r.s; s++) if (committedAt.has(s)) lat.push(at - committedAt.get(s)!);
          known = r.s;
        }
        await Bun.sleep(everyMs);
      }
    })();
    await commits(writer, SAMPLES, (seq, at) => committedAt.set(seq, at));
    await Bun.sleep(everyMs * 2);
    // Idle cost: polling with nothing to find, this process and its server backend.
    const [c0, b0] = [ownCpu(), cpuOf(pid)];
    await Bun.sleep(IDLE_S * 1000);
    const [c1, b1] = [ownCpu(), cpuOf(pid)];
    stop = true;
    await polling;
    rows.push([
      `poll every ${everyMs} ms`,
      pct(lat, 50).toFixed(1),
      pct(lat, 99).toFixed(1),
      (((c1 - c0) / IDLE_S) * 100).toFixed(2),
      (((b1 - b0) / IDLE_S) * 100).toFixed(2),
    ]);
    await Promise.all([poller.close(), writer.close()]);
  }

  // --- LISTEN/NOTIFY through postgres.js, when available ---
  const pjsPath = process.env.PGSPIKE_POSTGRESJS;
  if (pjsPath) {
    type Pjs = (o: object) => {
      listen(ch: string, fn: (payload: string) => void): Promise<unknown>;
      (s: TemplateStringsArray, ...v: unknown[]): Promise<Record<string, unknown>[]>;
      end(): Promise<void>;
    };
    const postgres = ((await import(pjsPath)) as { default: Pjs }).default;
    const listener = postgres({ path: pg.socket, user: "hookd", database: "hookd", max: 1 });
    const committedAt = new Map<number, number>();
    const lat: number[] = [];
    await listener.listen(CHANNEL, (payload) => {
      const at = performance.now();
      const s = Number(payload);
      // The notification can arrive before the writer's await returns: wait for the stamp.
      queueMicrotask(() => setTimeout(() => committedAt.has(s) && lat.push(at - committedAt.get(s)!), 5));
    });
    const [{ pid }] = (await listener`SELECT pg_backend_pid() AS pid`) as [{ pid: number }];
    const writer = connect(pg.url);
    await commits(writer, SAMPLES, (seq, at) => committedAt.set(seq, at), true);
    await Bun.sleep(50);
    const [c0, b0] = [ownCpu(), cpuOf(pid)];
    await Bun.sleep(IDLE_S * 1000);
    const [c1, b1] = [ownCpu(), cpuOf(pid)];
    // The notification can beat the writer's own COMMIT answer: a latency below zero says so.
    rows.push([
      "LISTEN/NOTIFY (postgres.js)",
      pct(lat, 50).toFixed(1),
      pct(lat, 99).toFixed(1),
      (((c1 - c0) / IDLE_S) * 100).toFixed(2),
      (((b1 - b0) / IDLE_S) * 100).toFixed(2),
    ]);
    await writer.close();
    await listener.end();
  } else {
    rows.push(["LISTEN/NOTIFY", "n/a", "n/a", "(set PGSPIKE_POSTGRESJS)", ""]);
  }
  table(
    `Noticing another node's commit (${SAMPLES} commits); idle cost over ${IDLE_S} s with nothing new`,
    ["how", "latency p50 ms", "p99 ms", "idle CPU % (this process)", "idle CPU % (its PG backend)"],
    rows,
  );

  // --- what a NOTIFY costs the committing transaction (3 writers, 10-row transactions; 1 s slices, interleaved) ---
  const txs = { without: 0, with: 0 };
  for (let round = 0; round < 6; round++) {
    for (const notify of round % 2 ? [true, false] : [false, true]) {
      await admin.unsafe("TRUNCATE events");
      const writers = Array.from({ length: 3 }, () => connect(pg.url));
      const until = performance.now() + 1000;
      await Promise.all(
        writers.map(async (w, k) => {
          for (let n = 0; performance.now() < until; n++) {
            await w.begin(async (tx) => {
              await tx`INSERT INTO events (event_id, body) SELECT ${`${k}-${n}-`} || i, '{}' FROM generate_series(1, 10) i`;
              if (notify) await tx`SELECT pg_notify(${CHANNEL}, '')`;
            });
            txs[notify ? "with" : "without"]++;
          }
        }),
      );
      await Promise.all(writers.map((w) => w.close()));
    }
  }
  const cost = [
    ["without", Math.round(txs.without / 6)],
    ["with pg_notify in each transaction", Math.round(txs.with / 6)],
  ];
  table("Event transactions per second, 3 writers (NOTIFY takes a cluster-wide lock at commit)", ["", "tx/s"], cost);
  await admin.close();
});
