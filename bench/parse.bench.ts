// Log parsing throughput: createLogParser over a generated, realistic 200k-line Postfix log,
// next to a baseline measured in the same run — one pflogsumm-style regex per line (what
// Perl log summarisers do), which finds delivery lines but correlates nothing.
//   bun bench/parse.bench.ts [lines]
import { createLogParser } from "../src/ingest/parse/index.ts";
import { generate } from "./postfix-log.ts";

const LINES = Number(process.argv[2] ?? 200_000);

const log = generate(LINES);
if (process.env.DUMP) await Bun.write(process.env.DUMP, log.join("\n"));
const bytes = log.reduce((s, l) => s + l.length + 1, 0);

/** Best of 5 runs after a warm-up: on a shared machine the best run is the least disturbed. */
function time(fn: () => number): { ms: number; result: number } {
  let result = fn(); // warm-up: JIT
  let ms = Infinity;
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    result = fn();
    ms = Math.min(ms, performance.now() - start);
  }
  return { ms, result };
}

// pflogsumm's approach: a regex per line, counting statuses per queue id, no correlation.
const PFLOGSUMM =
  /^(\S+\s+\d+\s[\d:]+)\s\S+\spostfix\/(\w+)\[\d+\]:\s([0-9A-F]+):\s(?:to=<([^>]*)>.*?status=(\w+)|from=<([^>]*)>, size=(\d+))/;
const baseline = time(() => {
  let n = 0;
  for (const l of log) if (PFLOGSUMM.exec(l)) n++;
  return n;
});
const hookd = time(() => {
  const p = createLogParser({ format: "postfix", now: () => Date.UTC(2026, 10, 24) });
  let n = 0;
  for (const l of log) n += p.feed(l).length;
  return n;
});

const rate = (ms: number) => Math.round((LINES / ms) * 1000);
const fmt = (n: number) => n.toLocaleString("en-US").padStart(12);
console.log(`${LINES.toLocaleString("en-US")} lines, ${(bytes / 1e6).toFixed(1)} MB of generated Postfix log`);
console.log(`baseline: one regex per line (pflogsumm-style) ${fmt(rate(baseline.ms))} lines/s  (${baseline.result} matches)`);
console.log(`hookd createLogParser (events, correlated)     ${fmt(rate(hookd.ms))} lines/s  (${hookd.result} events)`);
console.log(`ratio hookd / baseline: ${(baseline.ms / hookd.ms).toFixed(2)}`);
