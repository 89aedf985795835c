// `bun run bench`: every figure next to a baseline measured in the same run, printed as a
// ratio, because absolute numbers on a shared 2-core machine mean little. Figures are
// reported, not asserted; the process exits non-zero only if a benchmark crashes.
import os from "node:os";
import path from "node:path";
import { startHookd, type Hookd } from "../src/app.ts";
import { defaultConfig, type Config } from "../src/config/schema.ts";
import { silentLogger } from "../src/lib/log.ts";
import { e2eLogFigures } from "./perf-e2e-log.ts";
import { fanoutFigures } from "./perf-fanout.ts";
import { feedbackFigures } from "./perf-feedback.ts";
import { fleetFigures } from "./perf-fleet.ts";
import { ingestFigures } from "./perf-ingest.ts";
import { latencyLogFigures } from "./perf-latency-log.ts";
import { memoryFigures } from "./perf-memory.ts";
import { killChildren, loadAverage, makeEvents, notes, rawInsertRate, rm, tmp, type Row } from "./perf-common.ts";
import { parseFigures } from "./perf-parse.ts";
import { startupFigures } from "./perf-startup.ts";
import { trackFigures } from "./perf-track.ts";
import { milterFigures } from "./perf-milter.ts";

const rows: Row[] = [];

function configFor(dir: string, patch: (c: Config) => void = () => {}): Config {
  const c = defaultConfig();
  c.storage.path = path.join(dir, "hookd.db");
  c.server.listen = "127.0.0.1:0";
  patch(c);
  return c;
}

async function withHookd<T>(patch: (c: Config) => void, fn: (h: Hookd, key: string) => Promise<T>): Promise<T> {
  const dir = tmp();
  let key = "";
  const h = await startHookd({ config: configFor(dir, patch), log: silentLogger, announceKey: (k) => (key = k) });
  try {
    return await fn(h, key);
  } finally {
    await h.stop();
    rm(dir);
  }
}

async function postEventsRate(batch: number, total: number): Promise<number> {
  return withHookd(
    () => {},
    async (h, key) => {
      const events = makeEvents(total, `p${batch}`);
      const bodies: string[] = [];
      for (let i = 0; i < total; i += batch) bodies.push(JSON.stringify(events.slice(i, i + batch)));
      const t0 = performance.now();
      for (const body of bodies) {
        const r = await fetch(`${h.url}/api/v1/events`, {
          method: "POST",
          body,
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        });
        if (r.status !== 200) throw new Error(`POST /events answered ${r.status}: ${await r.text()}`);
      }
      return total / ((performance.now() - t0) / 1000);
    },
  );
}

function startSink(onBatch: (n: number, at: number, body: unknown[]) => void) {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const body = (await req.json()) as unknown[];
      onBatch(body.length, performance.now(), body);
      return new Response("ok");
    },
  });
}

/** The HTTP ceiling here: sequential POSTs of the same bodies to the same kind of receiver. */
async function plainFetchRate(batch: number, total: number): Promise<number> {
  let got = 0;
  const sink = startSink((n) => (got += n));
  const body = JSON.stringify(makeEvents(batch, "f"));
  const t0 = performance.now();
  while (got < total)
    await fetch(`http://127.0.0.1:${sink.port}/`, { method: "POST", body, headers: { "content-type": "application/json" } });
  const rate = got / ((performance.now() - t0) / 1000);
  sink.stop(true);
  return rate;
}

async function endToEndRate(webhooks: number, total: number): Promise<number> {
  let got = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  const sink = startSink((n) => {
    got += n;
    if (got >= total * webhooks) done();
  });
  try {
    return await withHookd(
      (c) => {
        c.delivery.batch_max_wait = 50;
      },
      async (h, key) => {
        for (let i = 0; i < webhooks; i++) {
          const r = await fetch(`${h.url}/api/v1/webhooks`, {
            method: "POST",
            headers: { authorization: key, "content-type": "application/json" },
            body: JSON.stringify({ name: `w${i}`, target: `http://127.0.0.1:${sink.port}/`, events: ["*"], verification: "none" }),
          });
          if (r.status !== 201) throw new Error(`create webhook: ${r.status}`);
        }
        const events = makeEvents(total, `e2e${webhooks}`);
        const t0 = performance.now();
        for (let i = 0; i < total; i += 5000) {
          await fetch(`${h.url}/api/v1/events`, {
            method: "POST",
            headers: { authorization: key, "content-type": "application/json" },
            body: JSON.stringify(events.slice(i, i + 5000)),
          });
        }
        await Promise.race([finished, Bun.sleep(120_000)]);
        return got / webhooks / ((performance.now() - t0) / 1000);
      },
    );
  } finally {
    sink.stop(true);
  }
}

async function latency(waitMs: number, count: number): Promise<{ p50: number; p99: number }> {
  const sent = new Map<string, number>();
  const lat: number[] = [];
  const sink = startSink((_n, at, body) => {
    for (const e of body as { event_id: string }[]) {
      const t = sent.get(e.event_id);
      if (t !== undefined) lat.push(at - t);
    }
  });
  try {
    await withHookd(
      (c) => {
        c.delivery.batch_max_wait = waitMs;
      },
      async (h, key) => {
        await fetch(`${h.url}/api/v1/webhooks`, {
          method: "POST",
          headers: { authorization: key, "content-type": "application/json" },
          body: JSON.stringify({ name: "lat", target: `http://127.0.0.1:${sink.port}/`, events: ["*"], verification: "none" }),
        });
        // 100 events/s in single-event POSTs: the latency a trickle of real mail sees.
        for (let i = 0; i < count; i++) {
          const e = makeEvents(1, `lat${waitMs}-${i}`);
          const t = performance.now();
          await fetch(`${h.url}/api/v1/events`, {
            method: "POST",
            headers: { authorization: key, "content-type": "application/json" },
            body: JSON.stringify(e),
          });
          sent.set(e[0]!.event_id, t);
          await Bun.sleep(10);
        }
        const deadline = Date.now() + waitMs + 5000;
        while (lat.length < count && Date.now() < deadline) await Bun.sleep(20);
      },
    );
  } finally {
    sink.stop(true);
  }
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? NaN;
  return { p50: pct(50), p99: pct(99) };
}

/** The sections, in the order `bun run bench` runs them; argv words select some. */
const SECTIONS: [string, () => Promise<void>][] = [
  ["parse", () => parseFigures(rows)],
  [
    "post",
    async () => {
      for (const batch of [100, 1000]) {
        const total = 50_000;
        const raw = rawInsertRate(makeEvents(total, `r${batch}`), batch);
        const api = await postEventsRate(batch, total);
        rows.push({
          figure: `POST /events, batches of ${batch}`,
          baseline: "raw bun:sqlite insert, same rows",
          baselineValue: raw,
          value: api,
          unit: "events/s",
          higherIsBetter: true,
        });
      }
    },
  ],
  [
    "e2e",
    async () => {
      const ceiling = await plainFetchRate(5000, 100_000);
      const one = await endToEndRate(1, 100_000);
      rows.push({
        figure: "end to end POST → 2xx, 1 webhook",
        baseline: "plain fetch() loop, same receiver",
        baselineValue: ceiling,
        value: one,
        unit: "events/s",
        higherIsBetter: true,
      });
      const fifty = await endToEndRate(50, 20_000);
      rows.push({
        figure: "end to end, 50 webhooks on *, per webhook",
        baseline: "1 webhook",
        baselineValue: one,
        value: fifty,
        unit: "events/s",
        higherIsBetter: true,
      });
    },
  ],
  [
    "latency",
    async () => {
      for (const wait of [0, 1000]) {
        const l = await latency(wait, 200);
        rows.push({
          figure: `latency p50, batch_max_wait ${wait}ms`,
          baseline: "batch_max_wait",
          baselineValue: wait,
          value: l.p50,
          unit: "ms",
          higherIsBetter: false,
        });
        rows.push({
          figure: `latency p99, batch_max_wait ${wait}ms`,
          baseline: "batch_max_wait",
          baselineValue: wait,
          value: l.p99,
          unit: "ms",
          higherIsBetter: false,
        });
      }
    },
  ],
  ["ingest", () => ingestFigures(rows)],
  ["e2e-log", () => e2eLogFigures(rows)],
  ["latency-log", () => latencyLogFigures(rows)],
  ["fanout", () => fanoutFigures(rows)],
  ["memory", () => memoryFigures(rows)],
  ["startup", () => startupFigures(rows)],
  ["track", () => trackFigures(rows)],
  ["feedback", () => feedbackFigures(rows)],
  ["milter", () => milterFigures(rows)],
  ["fleet", () => fleetFigures(rows)],
];

/**
 * `bun bench/run.ts memory startup`: a word naming a section runs it; a word naming none
 * runs every section whose name contains it ("log" → e2e-log, latency-log). No words: all.
 */
function selected(): string[] {
  const words = process.argv.slice(2);
  const names = SECTIONS.map(([n]) => n);
  if (words.length === 0) return names;
  const pick = new Set<string>();
  for (const w of words) {
    if (names.includes(w)) pick.add(w);
    else {
      const partial = names.filter((n) => n.includes(w));
      if (partial.length === 0) console.error(`(no bench section "${w}"; sections: ${names.join(", ")})`);
      for (const n of partial) pick.add(n);
    }
  }
  return names.filter((n) => pick.has(n));
}

async function main(): Promise<number> {
  const crashed: string[] = [];
  const load = [`load average before: ${loadAverage()}`];
  for (const name of selected()) {
    const fn = SECTIONS.find(([n]) => n === name)![1];
    const t0 = performance.now();
    console.error(`bench: ${name} …`);
    try {
      await fn();
    } catch (err) {
      crashed.push(name);
      console.error(`bench: section ${name} crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    } finally {
      killChildren();
    }
    console.error(`bench: ${name} took ${((performance.now() - t0) / 1000).toFixed(1)} s (load average ${loadAverage()})`);
  }
  load.push(`after: ${loadAverage()}`);

  const fmt = (n: number) => (Number.isFinite(n) ? (Math.abs(n) >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1)) : "n/a");
  console.log(`\nhookd bench — ${os.cpus().length} cores, bun ${Bun.version}, ${new Date().toISOString()}; ${load.join(", ")}\n`);
  const header = ["figure", "baseline", "baseline value", "hookd", "ratio", "target"];
  const table = rows.map((r) => [
    r.figure,
    r.baseline,
    `${fmt(r.baselineValue)} ${r.unit}`,
    `${fmt(r.value)} ${r.unit}`,
    r.baselineValue > 0 && Number.isFinite(r.baselineValue) && Number.isFinite(r.value)
      ? `${(r.value / r.baselineValue).toFixed(2)}×`
      : "—",
    r.target ?? "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ") + " |";
  console.log(line(header));
  console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
  for (const r of table) console.log(line(r));
  if (notes.length) console.log("\n" + notes.map((n) => `- ${n}`).join("\n"));
  if (crashed.length) console.log(`\ncrashed: ${crashed.join(", ")}`);
  return crashed.length ? 1 : 0;
}

process.exit(await main());
