// track: the tracking listener's click redirects. hookd runs as a subprocess with
// [tracking] listen (its listener on its own worker thread, group-committing hits); the
// baseline is a plain Bun.serve in its own process answering the same 302 without verifying or
// recording (bench/track-plain.ts). Both get the same load, interleaved round by round:
// - throughput: wrk (closed loop, keep-alive) over distinct signed click URLs; the figure is
//   clicks *recorded* per second (events stored, counted in the store), against the 302s per
//   second the plain server answers;
// - latency: bench/track-load.ts (open loop, its own process) at 1,000 clicks/s, p99.
// Then the rewrite figure (track-rewrite.bench.ts). Tokens are signed here with the store's
// key, so the URL list costs no API calls. Needs wrk for the throughput (apt-get install wrk).
import { Database } from "bun:sqlite";
import path from "node:path";
import { keyringFromStored, currentKey } from "../src/track/keyring.ts";
import { messageLinks } from "../src/track/links.ts";
import {
  BUN,
  childEnv,
  envNum,
  fmtN,
  freePort,
  note,
  percentile,
  rm,
  sleep,
  spawnHookd,
  stopProcess,
  tmp,
  track,
  waitUntil,
  type HookdProc,
  type Row,
} from "./perf-common.ts";
import { trackRewriteFigures } from "./track-rewrite.bench.ts";

const DEST = "https://shop.example.com/products/item-1?utm_source=newsletter&utm_medium=email";
const UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/** `n` click URLs (one recipient each), signed with the store's current key an hour ago. */
function clickUrls(dbPath: string, origin: string, n: number): string[] {
  const db = new Database(dbPath, { readonly: true });
  const row = db.query("SELECT ring FROM tracking_keyring").get() as { ring: string };
  db.close();
  const key = currentKey(keyringFromStored(JSON.parse(row.ring)));
  const issuedAt = Math.floor(Date.now() / 1000) - 3600;
  return Array.from({ length: n }, (_, i) =>
    messageLinks({
      baseUrl: origin,
      key,
      issuedAt,
      message: { queueId: `Q${i.toString(36).toUpperCase()}`, rcpt: `reader${i}@example.org` },
    }).clickUrl(DEST),
  );
}

function countClicks(dbPath: string): number {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.query("SELECT count(*) AS n FROM events WHERE type = 'click'").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

async function metric(h: HookdProc, name: string): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))) sum += Number(m[1]);
  return sum;
}

/** wrk's Lua: each thread walks the URL list from its own offset, so no two send the same token at once. */
const WRK_LUA = `
local paths = {}
for line in io.lines(os.getenv("TRACK_PATHS")) do paths[#paths + 1] = line end
local n = 0
function setup(thread) thread:set("id", n); n = n + 1 end
function init(args) i = math.floor(id * #paths / 4) end
function request()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("GET", paths[i])
end
`;

async function wrk(
  origin: string,
  pathsFile: string,
  luaFile: string,
  seconds: number,
  connections: number,
): Promise<{ rps: number; requests: number; p99: string }> {
  const p = Bun.spawn(["wrk", "-t1", `-c${connections}`, `-d${seconds}s`, "--latency", "-H", `User-Agent: ${UA}`, "-s", luaFile, origin], {
    env: childEnv({ TRACK_PATHS: pathsFile }),
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error(`wrk failed: ${out} ${await new Response(p.stderr).text()}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const p99 = /\s99%\s+(\S+)/.exec(out)?.[1] ?? "?";
  return { rps, requests, p99 };
}

async function load(
  urlsFile: string,
  rate: number,
  seconds: number,
): Promise<{ p50: number; p99: number; max: number; answered: number; errors: number; statuses: Record<string, number> }> {
  const p = track(
    Bun.spawn([BUN, path.join(import.meta.dir, "track-load.ts"), urlsFile, String(rate), String(seconds)], {
      stdout: "pipe",
      stderr: "inherit",
      env: childEnv(),
    }),
  );
  const out = await new Response(p.stdout).text();
  await p.exited;
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

async function startPlain(): Promise<{ origin: string; stop(): Promise<void> }> {
  const p = track(
    Bun.spawn([BUN, path.join(import.meta.dir, "track-plain.ts"), DEST], { stdout: "pipe", stderr: "inherit", env: childEnv() }),
  );
  const reader = p.stdout.getReader();
  const { value } = await reader.read();
  const port = Number(/"port":(\d+)/.exec(new TextDecoder().decode(value))![1]);
  return { origin: `http://127.0.0.1:${port}`, stop: async () => void (await stopProcess(p, 3000)) };
}

const spread = (xs: number[]) => `${fmtN(Math.min(...xs))}–${fmtN(Math.max(...xs))}`;
const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );

export async function trackFigures(rows: Row[]) {
  const rounds = envNum("BENCH_TRACK_ROUNDS", 3);
  const seconds = envNum("BENCH_TRACK_SECONDS", 8);
  // Many readers, one click each: with few connections a closed loop measures the time a
  // redirect waits for its commit (≤ 5 ms by design), not how many clicks a second are recorded.
  const connections = envNum("BENCH_TRACK_CONNECTIONS", 256);
  const rate = envNum("BENCH_TRACK_RATE", 1000);
  const latencySeconds = envNum("BENCH_TRACK_LATENCY_SECONDS", 10);
  const dir = tmp();
  const port = freePort();
  const origin = `http://127.0.0.1:${port}`;
  const dbPath = path.join(dir, "hookd.db");
  const toml = `[storage]\npath = ${JSON.stringify(dbPath)}\n[server]\nrate_limit = 0\n[tracking]\nlisten = "127.0.0.1:${port}"\nbase_url = "${origin}"\nrate_limit = 0\n`;
  const h = await spawnHookd({ dir, toml, label: "track" });
  const plain = await startPlain();
  try {
    const urls = clickUrls(dbPath, origin, 200_000);
    const pathsFile = path.join(dir, "paths.txt");
    await Bun.write(pathsFile, urls.map((u) => u.slice(origin.length)).join("\n") + "\n");
    const luaFile = path.join(dir, "clicks.lua");
    await Bun.write(luaFile, WRK_LUA);
    const urlsFile = path.join(dir, "urls.txt");
    const plainUrlsFile = path.join(dir, "plain-urls.txt");
    await Bun.write(urlsFile, urls.slice(0, 50_000).join("\n") + "\n");
    await Bun.write(
      plainUrlsFile,
      urls
        .slice(0, 50_000)
        .map((u) => plain.origin + u.slice(origin.length))
        .join("\n") + "\n",
    );

    if (Bun.which("wrk")) {
      const recorded: number[] = [];
      const answered: number[] = [];
      const baseline: number[] = [];
      const commitNotes: string[] = [];
      for (let r = 0; r < rounds; r++) {
        const base = await wrk(plain.origin, pathsFile, luaFile, seconds, connections);
        baseline.push(base.rps);
        const before = countClicks(dbPath);
        const [commits0, commitSum0, dropped0] = [
          await metric(h, "hookd_tracking_commit_duration_seconds_count"),
          await metric(h, "hookd_tracking_commit_duration_seconds_sum"),
          await metric(h, "hookd_tracking_hits_dropped_total"),
        ];
        const w = await wrk(origin, pathsFile, luaFile, seconds, connections);
        // Hits answered but still queued are committed within milliseconds; then count.
        await waitUntil(
          async () =>
            (await metric(h, "hookd_tracking_hits_recorded_total")) + (await metric(h, "hookd_tracking_hits_dropped_total")) >=
            (await metric(h, "hookd_tracking_hits_total")),
          10_000,
          200,
        );
        const stored = countClicks(dbPath) - before;
        recorded.push(stored / seconds);
        answered.push(w.rps);
        const commits = (await metric(h, "hookd_tracking_commit_duration_seconds_count")) - commits0;
        const commitMs = (((await metric(h, "hookd_tracking_commit_duration_seconds_sum")) - commitSum0) / Math.max(1, commits)) * 1000;
        const dropped = (await metric(h, "hookd_tracking_hits_dropped_total")) - dropped0;
        commitNotes.push(
          `round ${r + 1}: ${fmtN(stored / seconds)} recorded/s = ${(stored / seconds / base.rps).toFixed(2)}× plain, ${fmtN(w.rps)} answered/s, wrk p99 ${w.p99}, ${fmtN(commits)} commits of ${fmtN(stored / Math.max(1, commits))} hits (mean ${commitMs.toFixed(2)} ms), ${fmtN(dropped)} dropped; plain ${fmtN(base.rps)}/s, p99 ${base.p99}`,
        );
        await sleep(500);
      }
      rows.push({
        figure: `track: click redirects recorded/s (wrk -t1 -c${connections}, ${seconds}s, median of ${rounds})`,
        baseline: "plain Bun.serve, same 302, no recording",
        baselineValue: median(baseline),
        value: median(recorded),
        unit: "clicks/s",
        higherIsBetter: true,
        target: "≥ 0.3× and ≥ 10,000/s",
      });
      note(
        "track",
        `throughput spread over ${rounds} rounds: recorded ${spread(recorded)}/s, answered ${spread(answered)}/s, plain ${spread(baseline)}/s`,
      );
      for (const n of commitNotes) note("track", n);
      note(
        "track",
        `command: wrk -t1 -c${connections} -d${seconds}s --latency -H "User-Agent: …Firefox/128.0" -s clicks.lua (200,000 distinct signed click URLs, each thread from its own offset)`,
      );
    } else {
      console.error("(wrk is not installed: apt-get install wrk for the track throughput figure)");
    }

    const lat: number[] = [];
    const plainLat: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const b = await load(plainUrlsFile, rate, latencySeconds);
      plainLat.push(b.p99);
      const l = await load(urlsFile, rate, latencySeconds);
      lat.push(l.p99);
      note(
        "track",
        `latency round ${r + 1}: ${fmtN(rate)} clicks/s for ${latencySeconds}s: p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, max ${l.max.toFixed(1)} ms, ${l.answered} answered ${JSON.stringify(l.statuses)}, ${l.errors} errors; plain p99 ${b.p99.toFixed(2)} ms`,
      );
    }
    rows.push({
      figure: `track: click p99 latency at ${fmtN(rate)} clicks/s (median of ${rounds})`,
      baseline: "plain Bun.serve, same load",
      baselineValue: median(plainLat),
      value: median(lat),
      unit: "ms",
      higherIsBetter: false,
      target: "≤ 20 ms",
    });
    note(
      "track",
      `latency spread: p99 ${lat.map((x) => x.toFixed(2)).join(", ")} ms (plain ${plainLat.map((x) => x.toFixed(2)).join(", ")} ms); command: bun bench/track-load.ts urls.txt ${rate} ${latencySeconds}`,
    );
  } finally {
    await plain.stop();
    await h.stop();
    rm(dir);
  }
  trackRewriteFigures(rows);
}
