// memory: a dist/hookd subprocess whose one webhook targets a closed port (connection refused,
// retried with backoff) while BENCH_MEMORY_EVENTS (1,000,000) events pile up for it, its
// VmRSS sampled every second while the backlog grows and for BENCH_MEMORY_AFTER_SECONDS (10)
// after. Two ways in, each its own process:
//   log: a generated Postfix log with that many events, tailed from the beginning (the
//        product's main path: ingest worker + delivery);
//   api: POST /api/v1/events in chunks of 10,000 as fast as hookd answers (the API's worst case).
// Flat means RSS at 1M pending ≈ RSS at 500k.
import { Database } from "bun:sqlite";
import { closeSync, openSync, renameSync, writeSync } from "node:fs";
import path from "node:path";
import { binary } from "./binary.ts";
import { eventsPerLine } from "./perf-e2e-log.ts";
import {
  createWebhook,
  envNum,
  fmtN,
  freePort,
  hookdToml,
  makeEvents,
  note,
  rm,
  rssMB,
  rssPartsMB,
  sleep,
  spawnHookd,
  tmp,
  waitUntil,
  type HookdProc,
  type Row,
} from "./perf-common.ts";
import { postfixLines } from "./postfix-log.ts";

type Sample = { t: number; pending: number; rss: number; anon: number; file: number; shmem: number };

/** Least-squares slope of rss over pending events, in MB per 100,000 events. */
function slopePer100k(samples: readonly Sample[]): number {
  if (samples.length < 2) return NaN;
  const n = samples.length;
  const mx = samples.reduce((a, s) => a + s.pending, 0) / n;
  const my = samples.reduce((a, s) => a + s.rss, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.pending - mx) * (s.rss - my);
    den += (s.pending - mx) ** 2;
  }
  return den === 0 ? NaN : (num / den) * 100_000;
}

/** Feeds `total` events into a hookd with a dead webhook; `pending()` says how many are stored so far. */
type Feeder = {
  label: string;
  prepare?: (dir: string) => Promise<void>;
  toml: (dir: string) => string;
  feed: (h: HookdProc, dir: string, pending: () => number) => Promise<void>;
};

const parts = (p: { anon: number; file: number; shmem: number }) => `${p.anon.toFixed(0)} / ${p.file.toFixed(0)} / ${p.shmem.toFixed(0)}`;

async function measure(total: number, feeder: Feeder, bin: string, rows: Row[]) {
  const after = envNum("BENCH_MEMORY_AFTER_SECONDS", 10);
  const dir = tmp();
  let h: HookdProc | null = null;
  let db: Database | null = null;
  let timer: ReturnType<typeof setInterval> | null = null;
  try {
    await feeder.prepare?.(dir);
    h = await spawnHookd({ dir, toml: feeder.toml(dir), command: [bin], label: `memory-${feeder.label}` });
    await createWebhook(h, "dead", `http://127.0.0.1:${freePort()}/`);
    await sleep(500);
    const pid = h.pid;
    const idle = rssMB(pid);
    const idleParts = rssPartsMB(pid);
    db = new Database(path.join(dir, "hookd.db"), { readonly: true });
    const maxSeq = db.query("SELECT COALESCE(MAX(seq), 0) AS n FROM events");
    const pending = () => (maxSeq.get() as { n: number }).n;
    const samples: Sample[] = [];
    const t0 = performance.now();
    const sample = () => samples.push({ t: (performance.now() - t0) / 1000, pending: pending(), rss: rssMB(pid), ...rssPartsMB(pid) });
    timer = setInterval(sample, 1000);
    await feeder.feed(h, dir, pending);
    sample();
    const feedS = (performance.now() - t0) / 1000;
    await sleep(after * 1000);
    sample();
    clearInterval(timer);
    timer = null;
    const atHalf = samples.find((s) => s.pending >= total / 2)?.rss ?? NaN;
    const atEnd = samples.find((s) => s.pending >= total)?.rss ?? NaN;
    const final = samples[samples.length - 1]!.rss;
    const max = Math.max(...samples.map((s) => s.rss));
    const slope = slopePer100k(samples.filter((s) => s.pending >= total / 2 && s.pending < total));
    const status = await h.api("GET", "/status");
    const depth =
      status.status === 200
        ? ((await status.json()) as { results: { webhooks: { queue_depth: number }[] } }).results.webhooks[0]?.queue_depth
        : undefined;
    rows.push({
      figure: `memory (${feeder.label}): max RSS, ${fmtN(total)} events pending for a dead receiver`,
      baseline: "RSS idle after start, same process",
      baselineValue: idle,
      value: max,
      unit: "MB",
      higherIsBetter: false,
      target: "≤ 150 MB",
    });
    rows.push({
      figure: `memory (${feeder.label}): RSS at ${fmtN(total)} pending`,
      baseline: `RSS at ${fmtN(total / 2)} pending`,
      baselineValue: atHalf,
      value: atEnd,
      unit: "MB",
      higherIsBetter: false,
      target: "flat (≈ 1.0×)",
    });
    note(
      `memory ${feeder.label}`,
      `${fmtN(pending())} events stored in ${feedS.toFixed(1)} s (${fmtN(pending() / feedS)} events/s); slope over the second half ${slope.toFixed(2)} MB per 100k events; ` +
        `RSS ${fmtN(final)} MB ${after} s after the last event; queue_depth ${depth ?? "?"}`,
    );
    const every = Math.max(1, Math.ceil(samples.length / 20));
    note(
      `memory ${feeder.label}`,
      `samples (s: events → MB): ${samples
        .filter((_, i) => i % every === 0 || i === samples.length - 1)
        .map((s) => `${s.t.toFixed(0)}: ${fmtN(s.pending / 1000)}k → ${s.rss.toFixed(0)}`)
        .join(", ")}`,
    );
    const peak = samples.reduce((a, s) => (s.rss > a.rss ? s : a));
    note(
      `memory ${feeder.label}`,
      `RSS parts (anonymous / mapped files / shared memory, MB): idle ${parts(idleParts)}; at the peak ${parts(peak)}; at the end ${parts(samples[samples.length - 1]!)}`,
    );
  } finally {
    if (timer) clearInterval(timer);
    db?.close();
    await h?.stop();
    rm(dir);
  }
}

function apiFeeder(total: number): Feeder {
  const chunk = 10_000;
  return {
    label: "api",
    toml: (dir) => hookdToml(dir),
    async feed(h) {
      for (let k = 0, posted = 0; posted < total; k++) {
        const n = Math.min(chunk, total - posted);
        const r = await h.api("POST", "/events", JSON.stringify(makeEvents(n, `mem${k}`)));
        if (r.status !== 200) throw new Error(`POST /events answered ${r.status}: ${await r.text()}`);
        posted += n;
      }
    },
  };
}

function logFeeder(total: number): Feeder {
  // Written beside the source path and moved into place once the dead webhook exists: a new
  // webhook starts after the newest stored event.
  const staged = (dir: string) => path.join(dir, "staged.log");
  const source = (dir: string) => path.join(dir, "mail.log");
  return {
    label: "log",
    async prepare(dir) {
      const lines = Math.ceil((total / eventsPerLine()) * 1.01);
      const gen = postfixLines({ seed: 99 });
      const fd = openSync(staged(dir), "w");
      for (let written = 0; written < lines; ) {
        let s = "";
        const n = Math.min(20_000, lines - written);
        for (let i = 0; i < n; i++) s += gen.next().value + "\n";
        writeSync(fd, s);
        written += n;
      }
      closeSync(fd);
    },
    toml: (dir) => hookdToml(dir, { sources: [{ path: source(dir) }] }),
    async feed(_h, dir, pending) {
      renameSync(staged(dir), source(dir));
      let last = -1;
      let still = performance.now();
      await waitUntil(
        () => {
          const n = pending();
          if (n !== last) (last = n), (still = performance.now());
          return n >= total || performance.now() - still > 5000;
        },
        600_000,
        200,
      );
    },
  };
}

export async function memoryFigures(rows: Row[]) {
  const total = envNum("BENCH_MEMORY_EVENTS", 1_000_000);
  const which = (process.env.BENCH_MEMORY_FEEDERS ?? "log,api").split(",");
  // The executable operators run: its RSS is what a mail host gives hookd.
  const dir = tmp();
  try {
    const bin = await binary(dir, "memory");
    if (which.includes("log")) await measure(total, logFeeder(total), bin, rows);
    if (which.includes("api")) await measure(total, apiFeeder(total), bin, rows);
  } finally {
    rm(dir);
  }
}
