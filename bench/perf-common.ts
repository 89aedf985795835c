// Shared by the bench sections: the result row, temp dirs, hookd and the receiver as real
// subprocesses (so hookd's event loop is its own, as in production), RSS sampling, and the
// raw bun:sqlite insert that is the floor for every store figure.
import { Database } from "bun:sqlite";
import type { Subprocess } from "bun";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { MIGRATIONS } from "../src/store/sqlite/migrate.ts";

export type Row = {
  figure: string;
  baseline: string;
  baselineValue: number;
  value: number;
  unit: string;
  higherIsBetter: boolean;
  /** The target, as text (e.g. "≥ 10×", "≤ 150 MB"); shown, never asserted. */
  target?: string;
};

/** Lines printed under the table: how a figure was made, lags, slopes, the load average. */
export const notes: string[] = [];
export const note = (section: string, text: string) => notes.push(`${section}: ${text}`);

export const REPO = path.resolve(import.meta.dir, "..");
export const MAIN_TS = path.join(REPO, "src/main.ts");
export const RECEIVER_TS = path.join(import.meta.dir, "receiver.ts");
/** The bun running the bench, so subprocesses use the same pinned version. */
export const BUN = process.execPath;

export function tmp(): string {
  return mkdtempSync(path.join(os.tmpdir(), "hookd-bench-"));
}

export const rm = (p: string) => rmSync(p, { recursive: true, force: true });

export const sleep = (ms: number) => Bun.sleep(ms);
export const nowMs = () => performance.timeOrigin + performance.now();

export const fmtN = (n: number) =>
  Number.isFinite(n) ? (Math.abs(n) >= 100 || Number.isInteger(n) ? Math.round(n).toLocaleString("en-US") : n.toFixed(1)) : "n/a";

export function envNum(name: string, fallback: number): number {
  const v = process.env[name];
  const n = v === undefined || v === "" ? NaN : Number(v);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
}

/** Polls `cond` every `everyMs` until it is true or `timeoutMs` passed; resolves to whether it became true. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (performance.now() >= deadline) return false;
    await sleep(everyMs);
  }
}

/** Fields of /proc/PID/status in MB (all NaN once the process has gone). */
function statusMB<K extends string>(pid: number, keys: readonly K[]): Record<K, number> {
  let status = "";
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    // gone: every field NaN
  }
  const out = {} as Record<K, number>;
  for (const k of keys) out[k] = Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
  return out;
}

/** VmRSS split into its parts (anonymous memory, mapped files such as the executable, shared memory), in MB. */
export function rssPartsMB(pid: number): { anon: number; file: number; shmem: number } {
  const s = statusMB(pid, ["RssAnon", "RssFile", "RssShmem"]);
  return { anon: s.RssAnon, file: s.RssFile, shmem: s.RssShmem };
}

/** VmHWM (the highest RSS so far) of a process in MB, or NaN once it has gone. */
export const peakRssMB = (pid: number): number => statusMB(pid, ["VmHWM"]).VmHWM;

/** VmRSS of a process in MB, or NaN once it has gone. */
export const rssMB = (pid: number): number => statusMB(pid, ["VmRSS"]).VmRSS;

/** User + system CPU seconds a process has used so far (/proc/PID/stat), or NaN once it has gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** A port that nothing listens on right now (bound, then released). */
export function freePort(): number {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

// ---------------------------------------------------------------------------------------
// Children: every subprocess the bench starts is tracked, so a crash or ^C kills exactly those.

const children = new Set<Subprocess>();

export function track<T extends Subprocess>(p: T): T {
  children.add(p);
  p.exited.then(() => children.delete(p));
  return p;
}

export function killChildren() {
  for (const p of children) {
    try {
      p.kill(9);
    } catch {
      // already gone
    }
  }
  children.clear();
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    killChildren();
    process.exit(130);
  });
}
process.on("exit", killChildren);

/** Environment for a child: no HOOKD_* leaking in from the shell. */
export function childEnv(env: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("HOOKD_")) out[k] = v;
  return { ...out, ...env };
}

function pump(stream: ReadableStream<Uint8Array>, onText: (s: string) => void): Promise<void> {
  return (async () => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onText(decoder.decode(value, { stream: true }));
    }
    onText(decoder.decode());
  })().catch(() => {});
}

/** SIGTERM, wait up to `ms`, then SIGKILL. Resolves to the exit code (or signal). */
export async function stopProcess(p: Subprocess, ms = 10_000): Promise<number | null> {
  if (p.exitCode !== null || p.signalCode !== null) return p.exitCode;
  p.kill("SIGTERM");
  const done = await Promise.race([p.exited, sleep(ms).then(() => "timeout" as const)]);
  if (done === "timeout") {
    p.kill(9);
    await p.exited;
  }
  return p.exitCode;
}

// ---------------------------------------------------------------------------------------
// hookd as a real process

export type HookdProc = {
  url: string;
  /** The admin key created at first start ("" when the store already had one). */
  key: string;
  pid: number;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** performance.now() at spawn and when the "hookd started" line arrived. */
  spawnedAt: number;
  startedAt: number;
  stderr(): string;
  api(method: string, pathname: string, body?: unknown): Promise<Response>;
  stop(ms?: number): Promise<number | null>;
};

export type SpawnHookdOptions = {
  /** Text of the config file (written to dir/hookd.toml). */
  toml: string;
  dir: string;
  env?: Record<string, string>;
  /** The executable before the arguments; default `bun src/main.ts`. */
  command?: string[];
  /** Set BENCH_CPU_PROF=DIR to profile every hookd subprocess into DIR (written at its exit). */
  label?: string;
  startTimeoutMs?: number;
};

export async function spawnHookd(opts: SpawnHookdOptions): Promise<HookdProc> {
  const configPath = path.join(opts.dir, "hookd.toml");
  await Bun.write(configPath, opts.toml);
  const prof = process.env.BENCH_CPU_PROF;
  const command = opts.command ?? [
    BUN,
    ...(prof
      ? ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${prof}`, `--cpu-prof-name=hookd-${opts.label ?? "bench"}-${Date.now()}`]
      : []),
    MAIN_TS,
  ];
  const spawnedAt = performance.now();
  const proc = track(
    Bun.spawn([...command, "serve", "--config", configPath], {
      cwd: opts.dir,
      env: childEnv({ HOOKD_SERVER_LISTEN: "127.0.0.1:0", ...opts.env }),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    }),
  );
  let out = "";
  let err = "";
  let startedAt = 0;
  let url = "";
  const stdoutLines: string[] = [];
  pump(proc.stdout, (text) => {
    out += text;
    const lines = out.split("\n");
    out = lines.pop()!;
    for (const line of lines) {
      if (!url && line.includes('"hookd started"')) {
        try {
          const rec = JSON.parse(line) as { listen?: string };
          if (rec.listen) {
            url = rec.listen;
            startedAt = performance.now();
          }
        } catch {
          // not JSON
        }
      }
      if (stdoutLines.length < 200) stdoutLines.push(line);
    }
  });
  pump(proc.stderr, (text) => (err += text));
  const ok = await waitUntil(() => url !== "" || proc.exitCode !== null, opts.startTimeoutMs ?? 20_000, 5);
  if (!ok || !url) {
    proc.kill(9);
    await proc.exited;
    throw new Error(`hookd did not start (exit ${proc.exitCode})\nstdout:\n${stdoutLines.join("\n")}\nstderr:\n${err}`);
  }
  // The admin key is announced on stderr, possibly just after the "started" line.
  await waitUntil(() => /hookd_[A-Za-z0-9_-]{20,}/.test(err), 500, 5);
  const key = /hookd_[A-Za-z0-9_-]{20,}/.exec(err)?.[0] ?? "";
  return {
    url,
    key,
    pid: proc.pid,
    proc,
    spawnedAt,
    startedAt,
    stderr: () => err,
    api(method, pathname, body) {
      return fetch(`${url}/api/v1${pathname}`, {
        method,
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(60_000),
      });
    },
    stop: (ms = 15_000) => stopProcess(proc, ms),
  };
}

export type TomlSource = { path: string; format?: string; start_at?: string; host?: string };

/** A config file for a bench hookd: store in `dir`, optional sources and delivery keys. */
export function hookdToml(
  dir: string,
  opts: { sources?: TomlSource[]; delivery?: Record<string, string | number>; server?: Record<string, string | number> } = {},
): string {
  const q = (v: string | number) => (typeof v === "number" ? String(v) : JSON.stringify(v));
  let s = `[storage]\npath = ${q(path.join(dir, "hookd.db"))}\n\n[server]\nrate_limit = 0\n`;
  for (const [k, v] of Object.entries(opts.server ?? {})) s += `${k} = ${q(v)}\n`;
  if (opts.delivery) {
    s += `\n[delivery]\n`;
    for (const [k, v] of Object.entries(opts.delivery)) s += `${k} = ${q(v)}\n`;
  }
  for (const src of opts.sources ?? []) {
    s += `\n[[sources]]\npath = ${q(src.path)}\nformat = ${q(src.format ?? "postfix")}\nstart_at = ${q(src.start_at ?? "beginning")}\nhost = ${q(src.host ?? "mx1")}\n`;
  }
  return s;
}

export async function createWebhook(h: HookdProc, name: string, target: string): Promise<string> {
  const r = await h.api("POST", "/webhooks", { name, target, events: ["*"], verification: "none" });
  if (r.status !== 201) throw new Error(`create webhook ${name}: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { results: { id: string } }).results.id;
}

export type SourceStatus = { offset: number; size: number; lag_bytes: number; lines_read: number; status: string };

export async function hookdStatus(h: HookdProc): Promise<{ sources: SourceStatus[]; webhooks: { queue_depth: number }[] } | null> {
  try {
    const r = await h.api("GET", "/status");
    if (r.status !== 200) return null;
    return ((await r.json()) as { results: { sources: SourceStatus[]; webhooks: { queue_depth: number }[] } }).results;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------
// The receiver: bench/receiver.ts in its own process, so counting does not share an event loop
// with the bench's writer or with hookd.

export type ReceiverStats = {
  total: number;
  requests: number;
  perPath: Record<string, number>;
  /** [wall-clock ms / 100, events] */
  buckets: [number, number][];
  first: number;
  last: number;
};

export type ReceiverProc = {
  url: string;
  pid: number;
  stats(): Promise<ReceiverStats>;
  /** Latency mode: [rcpt_to, wall-clock ms received]. */
  received(): Promise<[string, number][]>;
  reset(): Promise<void>;
  stop(): Promise<void>;
};

export async function startReceiver(mode: "count" | "latency" = "count"): Promise<ReceiverProc> {
  const proc = track(Bun.spawn([BUN, RECEIVER_TS, mode], { stdin: "ignore", stdout: "pipe", stderr: "inherit", env: childEnv() }));
  let out = "";
  pump(proc.stdout, (t) => (out += t));
  if (!(await waitUntil(() => /"port":\d+/.test(out) || proc.exitCode !== null, 10_000, 5)) || proc.exitCode !== null) {
    proc.kill(9);
    throw new Error(`receiver did not start: ${out}`);
  }
  const port = Number(/"port":(\d+)/.exec(out)![1]);
  const url = `http://127.0.0.1:${port}`;
  const get = async (p: string) => (await fetch(`${url}${p}`, { signal: AbortSignal.timeout(30_000) })).json();
  return {
    url,
    pid: proc.pid,
    stats: () => get("/_stats") as Promise<ReceiverStats>,
    received: () => get("/_received") as Promise<[string, number][]>,
    async reset() {
      await get("/_reset");
    },
    async stop() {
      await stopProcess(proc, 3000);
    },
  };
}

// ---------------------------------------------------------------------------------------
// The floor: the same rows into the same schema, one prepared statement, one transaction per batch.

export type EventLike = {
  event_id: string;
  type: string;
  timestamp: string;
  host: string;
  queue_id?: string;
  message_id?: string;
  mail_from?: string;
  rcpt_to?: string;
};

/** Rows/s of the raw insert (WAL, synchronous FULL, as hookd's store), into a fresh temp store. */
export function rawInsertRate(events: readonly EventLike[], batch: number, source = "api"): number {
  const dir = tmp();
  const db = new Database(path.join(dir, "raw.db"));
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = FULL");
  for (const m of MIGRATIONS) db.run(m.sql);
  const stmt = db.prepare(
    `INSERT INTO events (event_id, type, ts, host, queue_id, message_id, mail_from, rcpt_to, source, body, received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(event_id) DO NOTHING`,
  );
  const t0 = performance.now();
  for (let i = 0; i < events.length; i += batch) {
    const slice = events.slice(i, i + batch);
    db.transaction(() => {
      for (const e of slice)
        stmt.run(
          e.event_id,
          e.type,
          Date.parse(e.timestamp),
          e.host,
          e.queue_id ?? null,
          e.message_id ?? null,
          e.mail_from ?? null,
          e.rcpt_to ?? null,
          source,
          JSON.stringify(e),
          Date.now(),
        );
    })();
  }
  const rate = events.length / ((performance.now() - t0) / 1000);
  db.close();
  rm(dir);
  return rate;
}

export function makeEvents(n: number, prefix: string) {
  return Array.from({ length: n }, (_, i) => ({
    event_id: `${prefix}-${i}`,
    type: "delivery" as const,
    timestamp: new Date(Date.UTC(2026, 10, 23, 13, 0, 0, i)).toISOString(),
    host: "mx1",
    queue_id: (0x4bcd21c03f2 + i).toString(16).toUpperCase(),
    message_id: `${i}.bench@example.com`,
    mail_from: "news@example.com",
    rcpt_to: `user${i}@example.org`,
    relay: "mx.example.org[203.0.113.5]:25",
    dsn: "2.0.0",
    response: "250 2.0.0 OK 1700000000 abc.123 - gsmtp",
    delay_s: 0.42,
  }));
}

/** Syslog time stamp ("Nov 23 16:31:02") of a wall-clock time, UTC like the rest of the bench. */
export function syslogStamp(ms: number): string {
  const d = new Date(ms);
  const mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getUTCMonth()]!;
  return `${mon} ${String(d.getUTCDate()).padStart(2, " ")} ${d.toISOString().slice(11, 19)}`;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
