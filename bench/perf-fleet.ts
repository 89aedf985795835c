// fleet: end-to-end events/s (real-shaped Postfix log appended → hookd tails, stores, batches →
// 2xx at one receiver on 127.0.0.1) for 1 node on SQLite, 1 node on PostgreSQL and 3 nodes
// (three `bun src/main.ts` processes, each tailing its own log) on one PostgreSQL. The server
// is Debian's, durable as in production (fsync, synchronous_commit on), started as the tests
// do; each measurement gets a fresh database (or a fresh SQLite file).
//
// Offered load: as much as hookd takes. The writer keeps the logs at most BENCH_FLEET_BACKLOG
// events ahead of what the receiver has got, appending chunks of whole copies of the real log
// (bench/real-log.ts) round-robin to the nodes' logs, so there is always work queued and the
// figure is the pipeline's capacity. The figure: events the receiver got per second between
// the warm-up (10 s) and the end of a BENCH_FLEET_SECONDS (35) run. The same log content is
// offered to every measurement (each has its own store). Order: SQLite, PostgreSQL 1 node,
// 3 nodes, 1 node again (the 3-node baseline is the mean of the two). Notes: CPU of every
// process and thread over the window, and for PostgreSQL what the server did (fleet-probe.ts).
//
// A run in which nothing reaches the receiver for 5 s gives no figure (n/a), and the notes name
// the session left idle in its transaction: before the pass stopped pipelining (f178e68), Bun
// 1.3.14's SQL left a pass's pipelined query unsent and delivery stopped in 5 of 19 measurements here.
//
// A LARGER MACHINE, ON PAPER (runs of 2026-12-06 on pg-wiring 83e9c47; load average 5 from other
// users' jobs; every run CPU-bound, the machine 165–200% busy). Per 1,000 events one PostgreSQL
// node costs ~73 ms of hookd CPU (its parse thread 34 ms, GC/JIT 22, ingest thread 9, event loop
// 8) plus 31–38 ms of PostgreSQL backend; SQLite 86–89 ms in hookd alone. Two sections are serial
// whatever the cores or nodes. (1) The event lock (every node's inserts in turn): one node at
// 13.5–14.7k events/s holds it 53–55% of the time, ~37 µs per event (27 µs the INSERT, 10 µs
// the holder's own turn: JSON parameter built after the lock, RETURNING read, round trips), so
// ≈ 27k events/s for the whole fleet (≈ 37k if only the INSERT were inside). With 3 nodes here
// it is held 92–94% of the time with 1.2 sessions queued. (2) One webhook's cuts: read 10k
// events with bodies 38–62 ms + write the body 43–49 ms under the webhook's row lock + build it
// (≤ 80 ms of the event loop) ≈ 130–190 ms per 10k ≈ 55–75k events/s from one node; with 3
// nodes every node reads and builds every cut (3× as many reads as cuts written: 1.3M rows read
// for 0.45M delivered) and 0.2 sessions wait on the webhook row. So given 8+ cores (WAL fsyncs
// are 10–18/s of 2–4 ms: not a factor), one node would reach ~25–29k events/s (its one parse
// thread ~29k, the event lock ~27k) and three nodes ~27–37k: 1.0–1.4× one node, not 3×. More
// nodes add availability and parse threads; more throughput needs a shorter event lock
// (DESIGN.md's xid horizon, or at least the insert's JSON built before taking it), cuts
// planned only by the node that will write them, or many webhooks.
import { Database } from "bun:sqlite";
import { SQL } from "bun";
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createLogParser } from "../src/ingest/parse/index.ts";
import { startPgServer, type PgServer } from "../test/helpers/pg-server.ts";
import { postmasterPid } from "../test/helpers/pg-watchdog.ts";
import { machineCpu, nodeMetrics, pgProbeNotes, PROBE_SETTINGS, startPgProbe, threadCpu, type PgProbeReport } from "./fleet-probe.ts";
import {
  cpuSeconds,
  createWebhook,
  envNum,
  fmtN,
  note,
  nowMs,
  rm,
  sleep,
  spawnHookd,
  startReceiver,
  tmp,
  type HookdProc,
  type ReceiverProc,
  type Row,
} from "./perf-common.ts";
import { multiplyLog } from "./real-log.ts";

const E2E_LOG = path.join(import.meta.dir, "../test/fixtures/postfix-e2e.log");
/** Whole copies of the real log per chunk the writer appends (~90 lines each). */
const COPIES_PER_CHUNK = 20;

/** The real log multiplied, in chunks of whole copies, made on demand and kept for the next measurement. */
function logPool() {
  const source = readFileSync(E2E_LOG, "utf8")
    .split("\n")
    .filter((l) => l.length > 0);
  const gen = multiplyLog(source, Number.MAX_SAFE_INTEGER, { startMs: Date.now() });
  const chunks: string[] = [];
  const more = () => {
    let s = "";
    for (let i = 0; i < source.length * COPIES_PER_CHUNK; i++) s += gen.next().value + "\n";
    chunks.push(s);
  };
  more();
  const parser = createLogParser({ format: "postfix", host: "mx1" });
  const eventsPerChunk = chunks[0]!.split("\n").reduce((n, l) => n + (l ? parser.feed(l).length : 0), 0);
  return {
    eventsPerChunk,
    chunk(i: number): string {
      while (chunks.length <= i) more();
      return chunks[i]!;
    },
    /** Makes chunks up to `events` ahead of time, so that generating them is not measured. */
    prepare(events: number) {
      while (chunks.length * eventsPerChunk < events) more();
    },
    get made() {
      return chunks.length;
    },
  };
}
type LogPool = ReturnType<typeof logPool>;

type Spec = { label: string; nodes: number; pg: PgServer | null };
type Ctx = { pool: LogPool; receiver: ReceiverProc; seconds: number; warm: number; backlog: number };
/** rate: NaN when delivery stalled (STALL_S with nothing received): a rate of a stall would be no capacity figure. */
type Measured = { rate: number; probe: PgProbeReport | null };
const STALL_S = 5;

function nodeToml(dir: string, log: string, i: number, db: string | null): string {
  const q = JSON.stringify;
  const storage = db ? `driver = "postgres"\nurl = ${q(db)}\nnode = "n${i + 1}"` : `path = ${q(path.join(dir, "hookd.db"))}`;
  return (
    `[storage]\n${storage}\n\n[server]\nrate_limit = 0\n\n` +
    `[[sources]]\npath = ${q(log)}\nformat = "postfix"\nstart_at = "beginning"\nhost = "mx${i + 1}"\n`
  );
}

async function measure(spec: Spec, ctx: Ctx): Promise<Measured> {
  const dir = tmp();
  const dbUrl = spec.pg ? await spec.pg.createDatabase() : null;
  const dbName = dbUrl ? new URL(dbUrl).pathname.slice(1) : "";
  const logs = Array.from({ length: spec.nodes }, (_, i) => path.join(dir, `mail-${i + 1}.log`));
  const nodes: HookdProc[] = [];
  let peek: { committed(): Promise<number>; close(): void } | null = null;
  try {
    for (const l of logs) writeFileSync(l, "");
    const start = (i: number) => {
      const nodeDir = path.join(dir, `n${i + 1}`);
      mkdirSync(nodeDir);
      return spawnHookd({ dir: nodeDir, toml: nodeToml(dir, logs[i]!, i, dbUrl), label: `fleet-${spec.label}-n${i + 1}` });
    };
    // The first node migrates the schema and announces the admin key; the others join it.
    nodes.push(await start(0));
    nodes.push(...(await Promise.all(logs.slice(1).map((_, i) => start(i + 1)))));
    await createWebhook(nodes[0]!, "fleet", `${ctx.receiver.url}/fleet`);
    if (dbUrl) {
      const sql = new SQL({ url: dbUrl, max: 1 });
      peek = { committed: async () => Number((await sql`SELECT COALESCE(max(seq), 0) AS n FROM events`)[0].n), close: () => sql.close() };
    } else {
      const db = new Database(path.join(dir, "hookd.db"), { readonly: true });
      const q = db.query("SELECT COALESCE(MAX(seq), 0) AS n FROM events");
      peek = { committed: async () => (q.get() as { n: number }).n, close: () => db.close() };
    }
    await ctx.receiver.reset();

    const timeline: string[] = [];
    let written = 0;
    let chunk = 0;
    let generatedDuringRun = false;
    let atWarm: null | {
      wall: number;
      cpu: number[];
      threads: Map<string, number>[];
      recv: number;
      bench: NodeJS.CpuUsage;
      machine: ReturnType<typeof machineCpu>;
    } = null;
    let probe: Awaited<ReturnType<typeof startPgProbe>> | null = null;
    const t0 = performance.now();
    let nextSample = 5000;
    for (;;) {
      const elapsed = performance.now() - t0;
      if (elapsed >= ctx.seconds * 1000) break;
      const got = (await ctx.receiver.stats()).total;
      while (written < got + ctx.backlog) {
        if (chunk >= ctx.pool.made) generatedDuringRun = true;
        appendFileSync(logs[chunk % spec.nodes]!, ctx.pool.chunk(chunk));
        chunk++;
        written += ctx.pool.eventsPerChunk;
      }
      if (!atWarm && elapsed >= ctx.warm * 1000) {
        atWarm = {
          wall: nowMs(),
          cpu: nodes.map((n) => cpuSeconds(n.pid)),
          threads: nodes.map((n) => threadCpu(n.pid)),
          recv: cpuSeconds(ctx.receiver.pid),
          bench: process.cpuUsage(),
          machine: machineCpu(),
        };
        if (spec.pg) probe = await startPgProbe(spec.pg.url, dbName, postmasterPid(spec.pg.dir)!);
      }
      if (elapsed >= nextSample) {
        nextSample += 5000;
        timeline.push(
          `${Math.round(elapsed / 1000)}s: written ${fmtN(written)} committed ${fmtN(await peek.committed())} delivered ${fmtN(got)}`,
        );
      }
      await sleep(100);
    }
    const wallEnd = nowMs();
    const report = await probe?.stop();
    const w = atWarm!;
    const windowS = (wallEnd - w.wall) / 1000;
    const share = (cpu: number) => `${Math.round((cpu / windowS) * 100)}%`;
    const nodeCpu = nodes.map((n, i) => cpuSeconds(n.pid) - w.cpu[i]!);
    const threads = nodes.map((n, i) =>
      [...threadCpu(n.pid)].map(([label, s]) => `${label} ${share(s - (w.threads[i]!.get(label) ?? 0))}`).join(" "),
    );
    const benchCpu = process.cpuUsage(w.bench);
    const machine = machineCpu();
    const stats = await ctx.receiver.stats();
    const metrics = await Promise.all(nodes.map(nodeMetrics));
    const committed = await peek.committed();

    const from = Math.floor(w.wall / 100);
    const to = Math.floor(wallEnd / 100);
    let inWindow = 0;
    for (const [b, n] of stats.buckets) if (b >= from && b < to) inWindow += n;
    const rate = inWindow / ((to - from) / 10);
    // The longest stretch of the window with nothing received: batches arrive every ~0.5–1 s
    // when the pipeline flows (≤ 2 s gaps in every healthy run), so 5 s of nothing is a stall.
    const got = new Set(stats.buckets.filter(([, n]) => n > 0).map(([b]) => b));
    let gap = 0;
    for (let b = from, run = 0; b < to; b++) gap = Math.max(gap, (run = got.has(b) ? 0 : run + 1));

    const tag = `fleet ${spec.label}`;
    note(
      tag,
      `${fmtN(rate)} events/s delivered over the last ${windowS.toFixed(0)} s (${fmtN(inWindow)} events); ${fmtN(stats.requests)} POSTs in the run, ` +
        `${fmtN(stats.total / Math.max(1, stats.requests))} events each; longest time with nothing received ${(gap / 10).toFixed(1)} s` +
        (gap >= STALL_S * 10 ? ` — DELIVERY STALLED (no figure from this run)` : "") +
        `; at the end written ≈${fmtN(written)}, committed ${fmtN(committed)}, delivered ${fmtN(stats.total)}` +
        (generatedDuringRun ? " (the log pool ran out: some chunks were generated during the run)" : ""),
    );
    note(
      tag,
      `CPU over the window (of one core): ` +
        nodes.map((_, i) => `hookd n${i + 1} ${share(nodeCpu[i]!)} (${threads[i]})`).join(", ") +
        `; receiver ${share(cpuSeconds(ctx.receiver.pid) - w.recv)}; writer+probe (bench) ${share((benchCpu.user + benchCpu.system) / 1e6)}` +
        (report ? `; postgres ${share([...report.cpu.values()].reduce((a, b) => a + b, 0))}` : "") +
        `; whole machine busy ${share(machine.busy - w.machine.busy)} of ${share(machine.total - w.machine.total)} (other users' jobs included)` +
        `; hookd CPU per 1,000 events delivered: ${fmtN(Math.round((nodeCpu.reduce((a, b) => a + b, 0) / inWindow) * 1e6))} ms`,
    );
    note(tag, `per node (/metrics, whole run): ` + metrics.map((m, i) => `n${i + 1} ${m}`).join("; "));
    if (report) pgProbeNotes(tag, report, inWindow);
    note(tag, `timeline: ${timeline.join("; ")}`);
    return { rate: gap >= STALL_S * 10 ? NaN : rate, probe: report ?? null };
  } finally {
    peek?.close();
    await Promise.all(nodes.map((n) => n.stop()));
    if (dbName && spec.pg) {
      const admin = new SQL({ url: spec.pg.urlFor("postgres"), max: 1 });
      await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
      await admin.close();
    }
    rm(dir);
  }
}

/** The mean of the figures that exist (a stalled run gives none), NaN when none does. */
function meanOfFinite(...xs: number[]): number {
  const ok = xs.filter(Number.isFinite);
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : NaN;
}

export async function fleetFigures(rows: Row[]) {
  const seconds = envNum("BENCH_FLEET_SECONDS", 35);
  const warm = seconds >= 20 ? 10 : seconds / 3;
  const backlog = envNum("BENCH_FLEET_BACKLOG", 100_000);
  const g0 = performance.now();
  const pool = logPool();
  // Enough for the fastest expected run (~25k events/s here) without generating during one.
  pool.prepare(envNum("BENCH_FLEET_POOL_EVENTS", 25_000 * seconds + backlog));
  const generatedS = (performance.now() - g0) / 1000;
  const receiver = await startReceiver("count");
  let pg: PgServer | null = null;
  try {
    pg = await startPgServer({ durable: true, settings: PROBE_SETTINGS });
    const ctx: Ctx = { pool, receiver, seconds, warm, backlog };
    const sqlite1 = await measure({ label: "1 node SQLite", nodes: 1, pg: null }, ctx);
    const pg1 = await measure({ label: "1 node PostgreSQL", nodes: 1, pg }, ctx);
    const pg3 = await measure({ label: "3 nodes PostgreSQL", nodes: 3, pg }, ctx);
    // Measured again after the 3-node run: other users' jobs come and go on this machine, and
    // the 3-node figure is compared with the mean of the runs on either side of it.
    const pg1after = await measure({ label: "1 node PostgreSQL, again", nodes: 1, pg }, ctx);
    rows.push({
      figure: "fleet: log → 2xx, 1 node on PostgreSQL",
      baseline: "1 node on SQLite, same log",
      baselineValue: sqlite1.rate,
      value: pg1.rate,
      unit: "events/s",
      higherIsBetter: true,
    });
    rows.push({
      figure: "fleet: log → 2xx, 3 nodes on one PostgreSQL (load split, 1 webhook)",
      baseline: "1 node on PostgreSQL (mean of the runs before and after)",
      baselineValue: meanOfFinite(pg1.rate, pg1after.rate),
      value: pg3.rate,
      unit: "events/s",
      higherIsBetter: true,
    });
    note(
      "fleet",
      `offered: as fast as taken (the writer keeps ≤ ${fmtN(backlog)} events ahead of the receiver); ${seconds} s runs, window after ${warm} s; ` +
        `${pool.eventsPerChunk} events per chunk of ${COPIES_PER_CHUNK} copies of the real log (${pool.made} chunks made in ${generatedS.toFixed(0)} s before the runs); PostgreSQL durable (fsync, synchronous_commit on) with pg_stat_statements loaded`,
    );
  } finally {
    await pg?.stop();
    await receiver.stop();
  }
}
