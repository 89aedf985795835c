// Where the time goes during a fleet measurement (bench/perf-fleet.ts): the CPU of each thread
// of a hookd process and of the whole machine (/proc), a node's own /metrics, and on PostgreSQL the CPU of
// every server process (backends by the hookd node they serve, from application_name), what the
// nodes' backends are doing, sampled every 100 ms from pg_stat_activity (on CPU, waiting for a
// lock, for the WAL's fsync, idle inside a transaction while the node works), ungranted locks
// from pg_locks, the statements that took the most time (pg_stat_statements, loaded by the
// bench's server), how much of the time some node holds the event lock (the one section every
// node's inserts go through in turn), commits and WAL flushes. Read-only; one connection of its own.
import { SQL } from "bun";
import { readdirSync, readFileSync } from "node:fs";
import { ADVISORY_LOCK } from "../src/store/postgres/locks.ts";
import { cpuSeconds, fmtN, note, type HookdProc } from "./perf-common.ts";

/** Busy and total CPU seconds of the whole machine (/proc/stat), every process of every user. */
export function machineCpu(): { busy: number; total: number } {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: (total - f[3]! - f[4]!) / 100, total: total / 100 };
}

/**
 * CPU seconds of a process by thread: "main" (the event loop: API, delivery), "worker 1", "worker 2"…
 * in the order they were made (hookd: the sources worker, then each source's parse worker), and
 * "other" (GC, JIT, the pool's threads). Bun names every worker thread "Worker".
 */
export function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: number[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`)
      .map(Number)
      .sort((a, b) => a - b);
  } catch {
    return out;
  }
  let worker = 0;
  for (const tid of tids) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      const label = tid === pid ? "main" : comm === "Worker" ? `worker ${++worker}` : "other";
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      add(out, label, (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** The server settings the probe needs: pg_stat_statements loaded, WAL I/O timed. */
export const PROBE_SETTINGS = { shared_preload_libraries: "pg_stat_statements", track_wal_io_timing: true } as const;

const SAMPLE_MS = 100;
const CPU_EVERY = 5; // CPU of the server's processes every 5th sample (/proc reads are not free)

/** hookd's own figures from /metrics: batches delivered and the mean attempt (POST) duration; why not, when it did not answer. */
export async function nodeMetrics(h: HookdProc): Promise<string> {
  let text = "";
  try {
    const r = await fetch(`${h.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
    text = await r.text();
    if (r.status !== 200) return `/metrics answered ${r.status}: ${text.slice(0, 200)}`;
  } catch (err) {
    return `/metrics failed: ${(err as Error).message}`;
  }
  const sum = (re: RegExp) => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
  const count = sum(/^hookd_attempt_duration_seconds_count(?:\{[^}]*\})? (\S+)$/gm);
  const attemptMs = count ? (sum(/^hookd_attempt_duration_seconds_sum(?:\{[^}]*\})? (\S+)$/gm) / count) * 1000 : NaN;
  return (
    `stored ${fmtN(sum(/^hookd_events_total\{[^}]*\} (\S+)$/gm))} events, ` +
    `delivered ${fmtN(sum(/^hookd_batches_total\{[^}]*outcome="delivered"[^}]*\} (\S+)$/gm))} batches, mean attempt ${fmtN(attemptMs)} ms`
  );
}

export type PgProbeReport = {
  seconds: number;
  /** CPU seconds by group: "backend hookd n1", "walwriter", "checkpointer", … */
  cpu: Map<string, number>;
  /** Backend-seconds of hookd's sessions by what they were doing ("CPU", "Lock:advisory", "IO:WALSync", "idle in transaction", …). */
  waits: Map<string, number>;
  /** Backend-seconds of ungranted locks by type (pg_locks). */
  lockWaits: Map<string, number>;
  /** The longest a hookd session stayed idle inside a transaction (the server waiting for the node), and its last statement. */
  longestIdleInTx: { seconds: number; app: string; query: string };
  /** Seconds some session held the event lock, by what the holder was doing (its statement, or idle in its transaction). */
  eventLock: Map<string, number>;
  /** Backend-seconds active, by the statement's first words. */
  activeBy: Map<string, number>;
  statements: { query: string; calls: number; totalMs: number; meanMs: number; rows: number }[];
  /** Reads of the events to cut, with their bodies (each node plans cuts on its own), and cuts written (cursor moves: the plans that won). */
  cutReads: number;
  cutsWritten: number;
  commits: number;
  wal: WalCounters;
};

type WalCounters = { bytes: number; syncs: number; syncMs: number; writeMs: number };

function children(ppid: number): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(f[1]) !== ppid) continue;
      out.push({ pid: Number(name), cmd: readFileSync(`/proc/${name}/cmdline`, "utf8").replaceAll("\0", " ").trim() });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);

/** The statement's kind in a few words: what it writes (the first INSERT/UPDATE/DELETE), else what it reads. */
function kind(query: string): string {
  const q = query.replace(/\s+/g, " ").trim();
  if (/pg_advisory_xact_lock/.test(q)) return "event lock (advisory)";
  const write = /\b(INSERT INTO|UPDATE|DELETE FROM)\s+([a-z_]+)/i.exec(q);
  if (write) return `${write[1]!.split(" ")[0]!.toUpperCase()} ${write[2]}`;
  const read = /\bFROM\s+([a-z_]+)(?!\s*\()/i.exec(q)?.[1];
  const verb = /^\w+/.exec(q)?.[0]?.toUpperCase() ?? "?";
  return `${verb}${read ? ` ${read}` : ""}${/FOR UPDATE/i.test(q) ? " FOR UPDATE" : ""}`;
}

/** A session of pg_stat_activity as sampled: its wait event (null: on CPU), lw the lock types it waits for, holds: the event lock. */
type Seen = { pid: number; app: string; state: string; wait: string | null; q: string; lw: string | null; holds: boolean; idle: number };

export type PgProbe = { stop(): Promise<PgProbeReport> };

/**
 * Starts sampling `database` on the server whose postmaster is `postmasterPid`, through `adminUrl`
 * (any database of that server holding the pg_stat_statements extension).
 */
export async function startPgProbe(adminUrl: string, database: string, postmasterPid: number): Promise<PgProbe> {
  const sql = new SQL({ url: adminUrl, max: 1 });
  await sql`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`;
  await sql`SELECT pg_stat_statements_reset()`;
  const [{ pid: ownPid }] = (await sql`SELECT pg_backend_pid() AS pid`) as [{ pid: number }];
  const counters = async () =>
    (
      (await sql`
      SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = ${database})::float8 AS commits, wal_bytes::float8 AS bytes,
             wal_sync::float8 AS syncs, wal_sync_time AS "syncMs", wal_write_time AS "writeMs"
      FROM pg_stat_wal`) as [WalCounters & { commits: number }]
    )[0];
  const c0 = await counters();

  // CPU: the first reading of each process is its baseline (0 for one born during the run).
  const cpuFirst = new Map<number, number>();
  const cpuLast = new Map<number, number>();
  const group = new Map<number, string>();
  const appOf = new Map<number, string>();
  const readCpu = (initial: boolean) => {
    for (const { pid, cmd } of [{ pid: postmasterPid, cmd: "postgres: postmaster" }, ...children(postmasterPid)]) {
      const s = cpuSeconds(pid);
      if (!Number.isFinite(s)) continue;
      if (!cpuFirst.has(pid)) cpuFirst.set(pid, initial ? s : 0);
      cpuLast.set(pid, s);
      if (!group.has(pid)) {
        // "postgres: walwriter", "postgres: hookd t123_4 [local] SELECT", "postgres: autovacuum worker …"
        const words = cmd.replace(/^postgres:\s*/, "").split(" ");
        group.set(pid, words[0] === "hookd" ? "backend" : words.slice(0, 2).join(" "));
      }
    }
  };
  readCpu(true);

  const waits = new Map<string, number>();
  const lockWaits = new Map<string, number>();
  const activeBy = new Map<string, number>();
  const eventLock = new Map<string, number>();
  let longestIdleInTx = { seconds: 0, app: "", query: "" };
  // pg_locks shows a bigint advisory key as classid (high 32 bits) and objid (low 32 bits).
  const lockHigh = Math.floor(ADVISORY_LOCK.events / 2 ** 32);
  const lockLow = ADVISORY_LOCK.events % 2 ** 32;
  const dt = SAMPLE_MS / 1000;
  let samples = 0;
  let stopped = false;
  const t0 = performance.now();
  const loop = (async () => {
    while (!stopped) {
      const next = performance.now() + SAMPLE_MS;
      const rows = (await sql`
        SELECT a.pid, a.application_name AS app, a.state, a.wait_event_type || ':' || a.wait_event AS wait, left(a.query, 400) AS q,
               (SELECT string_agg(DISTINCT l.locktype, ',') FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted) AS lw,
               EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.granted AND l.locktype = 'advisory'
                       AND l.classid = ${lockHigh} AND l.objid = ${lockLow}) AS holds,
               EXTRACT(epoch FROM now() - a.state_change)::float8 AS idle
        FROM pg_stat_activity a
        WHERE a.datname = ${database} AND a.backend_type = 'client backend' AND a.pid <> ${ownPid}`.catch(() => [])) as Seen[];
      for (const r of rows) {
        appOf.set(r.pid, r.app);
        if (r.state === "active") {
          add(waits, r.wait ?? "CPU", dt);
          add(activeBy, kind(r.q), dt);
        } else if (r.state.startsWith("idle in transaction")) {
          add(waits, "idle in transaction (the node's turn)", dt);
          if (r.idle > longestIdleInTx.seconds)
            longestIdleInTx = { seconds: r.idle, app: r.app, query: r.q.replace(/\s+/g, " ").slice(0, 120) };
        }
        if (r.lw) add(lockWaits, r.lw, dt);
        if (r.holds) add(eventLock, r.state === "active" ? kind(r.q) : r.state, dt);
      }
      if (++samples % CPU_EVERY === 0) readCpu(false);
      await Bun.sleep(Math.max(0, next - performance.now()));
    }
  })();

  return {
    async stop() {
      stopped = true;
      await loop;
      readCpu(false);
      const seconds = (performance.now() - t0) / 1000;
      const c1 = await counters();
      const cpu = new Map<string, number>();
      for (const [pid, last] of cpuLast) {
        const g = group.get(pid)!;
        const name = g !== "backend" ? g : pid === ownPid ? "backend of the probe" : `backend ${appOf.get(pid) || "(hookd, unnamed)"}`;
        add(cpu, name, last - cpuFirst.get(pid)!);
      }
      const statements = (await sql`
        SELECT left(regexp_replace(s.query, '[[:space:]]+', ' ', 'g'), 110) AS query, s.calls::float8 AS calls, s.total_exec_time AS "totalMs",
               s.mean_exec_time AS "meanMs", s.rows::float8 AS rows
        FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
        WHERE d.datname = ${database} ORDER BY s.total_exec_time DESC LIMIT 10`) as PgProbeReport["statements"];
      const [cuts] = (await sql`
        SELECT COALESCE(sum(s.calls) FILTER (WHERE s.query LIKE 'SELECT seq, type, host, mail_from, rcpt_to, custom_type, notice, body FROM events%'), 0)::float8 AS reads,
               COALESCE(sum(s.rows) FILTER (WHERE s.query LIKE '%INSERT INTO batch_bodies%'), 0)::float8 AS bodies
        FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = ${database}`) as [
        { reads: number; bodies: number },
      ];
      await sql.close();
      return {
        cutReads: cuts.reads,
        cutsWritten: cuts.bodies,
        seconds,
        cpu,
        waits,
        lockWaits,
        eventLock,
        longestIdleInTx,
        activeBy,
        statements,
        commits: c1.commits - c0.commits,
        wal: { bytes: c1.bytes - c0.bytes, syncs: c1.syncs - c0.syncs, syncMs: c1.syncMs - c0.syncMs, writeMs: c1.writeMs - c0.writeMs },
      };
    },
  };
}

/** What PostgreSQL did over the window, in averages per second of it (backend-seconds/s = backends busy at a time). */
export function pgProbeNotes(tag: string, r: PgProbeReport, events: number) {
  const per = (v: number) => (v / r.seconds).toFixed(2);
  const top = (m: Map<string, number>, n = 6) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `${k} ${per(v)}`)
      .join(", ");
  note(tag, `postgres CPU by process (cores): ${top(r.cpu, 10)}`);
  note(
    tag,
    `hookd's sessions, mean number at a time by state: ${top(r.waits, 8)}; ungranted locks by type: ${top(r.lockWaits) || "none seen"}`,
  );
  note(tag, `active statements by kind (mean at a time): ${top(r.activeBy)}`);
  note(
    tag,
    `cuts: ${fmtN(r.cutReads)} reads of the events to cut (with bodies) for ${fmtN(r.cutsWritten)} cuts written` +
      (r.cutReads > r.cutsWritten * 1.2 ? " — nodes planned the same cut and lost the compare-and-set" : ""),
  );
  const held = [...r.eventLock.values()].reduce((a, b) => a + b, 0);
  if (r.longestIdleInTx.seconds >= 1)
    note(
      tag,
      `longest a session sat idle inside a transaction (the server waiting for the node): ${r.longestIdleInTx.seconds.toFixed(1)} s (${r.longestIdleInTx.app}), its last statement: ${r.longestIdleInTx.query}`,
    );
  note(tag, `the event lock was held ${Math.round((held / r.seconds) * 100)}% of the time; its holder was: ${top(r.eventLock) || "—"}`);
  note(
    tag,
    `commits ${per(r.commits)}/s (${fmtN(events / Math.max(1, r.commits))} events delivered per commit); WAL ${(r.wal.bytes / r.seconds / 1e6).toFixed(1)} MB/s, ` +
      `${per(r.wal.syncs)} fsyncs/s of ${fmtN(r.wal.syncMs / Math.max(1, r.wal.syncs))} ms (${per(r.wal.syncMs / 1000)} s/s), WAL writes ${per(r.wal.writeMs / 1000)} s/s`,
  );
  note(
    tag,
    `top statements by time: ` +
      r.statements
        .map((s) => `[${fmtN(s.calls)} calls, ${fmtN(s.totalMs)} ms, mean ${s.meanMs.toFixed(2)} ms, ${fmtN(s.rows)} rows] ${s.query}`)
        .join(" | "),
  );
}
