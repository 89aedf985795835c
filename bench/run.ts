// `bun run bench`: every figure next to a baseline measured in the same run, printed as a
// ratio, because absolute numbers on a shared 2-core machine mean little. Figures are
// reported, not asserted; the process exits non-zero only if a benchmark crashes.
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startHookd, type Hookd } from "../src/app.ts";
import { defaultConfig, type Config } from "../src/config/schema.ts";
import { silentLogger } from "../src/lib/log.ts";
import { MIGRATIONS } from "../src/store/migrate.ts";
import { generate } from "./postfix-log.ts";

type Row = { figure: string; baseline: string; baselineValue: number; value: number; unit: string; higherIsBetter: boolean };
const rows: Row[] = [];
const only = process.argv.slice(2);
const want = (name: string) => only.length === 0 || only.some((o) => name.includes(o));

function tmp() {
  return mkdtempSync(path.join(os.tmpdir(), "hookd-bench-"));
}

function makeEvents(n: number, prefix: string) {
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
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The same rows into the same schema with one prepared statement per transaction: the floor. */
function rawInsertRate(events: ReturnType<typeof makeEvents>, batch: number): number {
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
      for (const e of slice) stmt.run(e.event_id, e.type, Date.parse(e.timestamp), e.host, e.queue_id, e.message_id, e.mail_from, e.rcpt_to, "api", JSON.stringify(e), Date.now());
    })();
  }
  const rate = events.length / ((performance.now() - t0) / 1000);
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return rate;
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
        const r = await fetch(`${h.url}/api/v1/events`, { method: "POST", body, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" } });
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
  while (got < total) await fetch(`http://127.0.0.1:${sink.port}/`, { method: "POST", body, headers: { "content-type": "application/json" } });
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
          await fetch(`${h.url}/api/v1/events`, { method: "POST", headers: { authorization: key, "content-type": "application/json" }, body: JSON.stringify(events.slice(i, i + 5000)) });
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
          await fetch(`${h.url}/api/v1/events`, { method: "POST", headers: { authorization: key, "content-type": "application/json" }, body: JSON.stringify(e) });
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

/** Wall time of a command over a file, best of `runs`; null when the tool is not installed. */
async function timeCommand(cmd: string[], runs = 2): Promise<number | null> {
  if (!Bun.which(cmd[0]!)) return null;
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const p = Bun.spawn(cmd, { stdout: "ignore", stderr: "ignore" });
    const code = await p.exited;
    if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}`);
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

async function parseFigures() {
  const lines = Number(process.env.BENCH_PARSE_LINES ?? 1_000_000);
  const dir = tmp();
  const file = path.join(dir, "mail.log");
  await Bun.write(file, generate(lines).join("\n") + "\n");
  const progs = path.join(dir, "mtail");
  await Bun.write(path.join(progs, "postfix.mtail"), Bun.file("/usr/share/doc/mtail/examples/postfix.mtail"));
  const rate = (ms: number | null) => (ms === null ? NaN : lines / (ms / 1000));
  const hookd = rate(await timeCommand([process.execPath, path.join(import.meta.dir, "../src/main.ts"), "parse", "--format", "postfix", file]));
  const pflogsumm = rate(await timeCommand(["pflogsumm", file]));
  const mtail = rate(
    (await Bun.file("/usr/share/doc/mtail/examples/postfix.mtail").exists())
      ? await timeCommand(["mtail", "-one_shot", "-progs", progs, "-logs", file, "-logtostderr"])
      : null,
  );
  rmSync(dir, { recursive: true, force: true });
  const missing = [Number.isNaN(pflogsumm) && "pflogsumm", Number.isNaN(mtail) && "mtail"].filter(Boolean);
  if (missing.length) console.error(`(not installed: ${missing.join(", ")}; apt-get install ${missing.join(" ")} for those baselines)`);
  const label = `${(lines / 1e6).toFixed(1)}M Postfix lines`;
  rows.push({ figure: `parse: hookd parse, ${label}`, baseline: "pflogsumm, same file", baselineValue: pflogsumm, value: hookd, unit: "lines/s", higherIsBetter: true });
  rows.push({ figure: `parse: hookd parse, ${label}`, baseline: "mtail postfix.mtail, same file", baselineValue: mtail, value: hookd, unit: "lines/s", higherIsBetter: true });
}

async function main() {
  if (want("parse")) await parseFigures();
  if (want("post")) {
    for (const batch of [100, 1000]) {
      const total = 50_000;
      const raw = rawInsertRate(makeEvents(total, `r${batch}`), batch);
      const api = await postEventsRate(batch, total);
      rows.push({ figure: `POST /events, batches of ${batch}`, baseline: "raw bun:sqlite insert, same rows", baselineValue: raw, value: api, unit: "events/s", higherIsBetter: true });
    }
  }
  if (want("e2e")) {
    const ceiling = await plainFetchRate(5000, 100_000);
    const one = await endToEndRate(1, 100_000);
    rows.push({ figure: "end to end POST → 2xx, 1 webhook", baseline: "plain fetch() loop, same receiver", baselineValue: ceiling, value: one, unit: "events/s", higherIsBetter: true });
    const fifty = await endToEndRate(50, 20_000);
    rows.push({ figure: "end to end, 50 webhooks on *, per webhook", baseline: "1 webhook", baselineValue: one, value: fifty, unit: "events/s", higherIsBetter: true });
  }
  if (want("latency")) {
    for (const wait of [0, 1000]) {
      const l = await latency(wait, 200);
      rows.push({ figure: `latency p50, batch_max_wait ${wait}ms`, baseline: "batch_max_wait", baselineValue: wait, value: l.p50, unit: "ms", higherIsBetter: false });
      rows.push({ figure: `latency p99, batch_max_wait ${wait}ms`, baseline: "batch_max_wait", baselineValue: wait, value: l.p99, unit: "ms", higherIsBetter: false });
    }
  }

  const fmt = (n: number) => (Number.isFinite(n) ? (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1)) : "n/a");
  console.log(`\nhookd bench — ${os.cpus().length} cores, bun ${Bun.version}, ${new Date().toISOString()}\n`);
  const header = ["figure", "baseline", "baseline value", "hookd", "ratio"];
  const table = rows.map((r) => [
    r.figure,
    r.baseline,
    `${fmt(r.baselineValue)} ${r.unit}`,
    `${fmt(r.value)} ${r.unit}`,
    r.baselineValue > 0 && Number.isFinite(r.baselineValue) ? `${(r.value / r.baselineValue).toFixed(2)}×` : "—",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ") + " |";
  console.log(line(header));
  console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
  for (const r of table) console.log(line(r));
}

await main();
process.exit(0);
