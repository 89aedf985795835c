// memory: a hookd subprocess whose one webhook targets a closed port (connection refused,
// retried with backoff), fed BENCH_MEMORY_EVENTS (1,000,000) events through POST
// /api/v1/events in chunks of 10,000, its VmRSS sampled every second while the backlog grows
// and for BENCH_MEMORY_AFTER_SECONDS (10) after. Flat means RSS at 1M pending ≈ RSS at 500k.
import { createWebhook, envNum, fmtN, freePort, hookdToml, makeEvents, note, rm, rssMB, sleep, spawnHookd, tmp, type Row } from "./perf-common.ts";

type Sample = { t: number; posted: number; rss: number };

/** Least-squares slope of rss over posted events, in MB per 100,000 events. */
function slopePer100k(samples: readonly Sample[]): number {
  if (samples.length < 2) return NaN;
  const n = samples.length;
  const mx = samples.reduce((a, s) => a + s.posted, 0) / n;
  const my = samples.reduce((a, s) => a + s.rss, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.posted - mx) * (s.rss - my);
    den += (s.posted - mx) ** 2;
  }
  return den === 0 ? NaN : (num / den) * 100_000;
}

export async function memoryFigures(rows: Row[]) {
  const total = envNum("BENCH_MEMORY_EVENTS", 1_000_000);
  const chunk = 10_000;
  const after = envNum("BENCH_MEMORY_AFTER_SECONDS", 10);
  const dir = tmp();
  let h: Awaited<ReturnType<typeof spawnHookd>> | null = null;
  let timer: ReturnType<typeof setInterval> | null = null;
  try {
    h = await spawnHookd({ dir, toml: hookdToml(dir), label: "memory" });
    const dead = freePort();
    await createWebhook(h, "dead", `http://127.0.0.1:${dead}/`);
    await sleep(500);
    const pid = h.pid;
    const idle = rssMB(pid);
    const samples: Sample[] = [];
    let posted = 0;
    let halfAt = 0;
    const t0 = performance.now();
    const sample = () => samples.push({ t: (performance.now() - t0) / 1000, posted, rss: rssMB(pid) });
    timer = setInterval(sample, 1000);
    for (let k = 0; posted < total; k++) {
      const n = Math.min(chunk, total - posted);
      const r = await h.api("POST", "/events", JSON.stringify(makeEvents(n, `mem${k}`)));
      if (r.status !== 200) throw new Error(`POST /events answered ${r.status}: ${await r.text()}`);
      posted += n;
      if (posted === Math.floor(total / 2 / chunk) * chunk) {
        sample();
        halfAt = performance.now();
      }
    }
    sample();
    const postS = (performance.now() - t0) / 1000;
    const firstHalfRate = total / 2 / ((halfAt - t0) / 1000);
    const secondHalfRate = total / 2 / (postS - (halfAt - t0) / 1000);
    const atHalf = samples.find((s) => s.posted >= total / 2)?.rss ?? NaN;
    const atEnd = samples[samples.length - 1]!.rss;
    await sleep(after * 1000);
    sample();
    clearInterval(timer);
    timer = null;
    const final = samples[samples.length - 1]!.rss;
    const max = Math.max(...samples.map((s) => s.rss));
    const growing = samples.filter((s) => s.posted >= total / 2 && s.posted < total);
    const slope = slopePer100k(growing);
    const status = await h.api("GET", "/status");
    const depth = status.status === 200 ? ((await status.json()) as { results: { webhooks: { queue_depth: number }[] } }).results.webhooks[0]?.queue_depth : undefined;

    rows.push({
      figure: `memory: max RSS, ${fmtN(total)} events pending for a dead receiver`,
      baseline: "RSS idle after start, same process",
      baselineValue: idle,
      value: max,
      unit: "MB",
      higherIsBetter: false,
      target: "≤ 150 MB",
    });
    rows.push({
      figure: `memory: RSS at ${fmtN(total)} pending`,
      baseline: `RSS at ${fmtN(total / 2)} pending`,
      baselineValue: atHalf,
      value: atEnd,
      unit: "MB",
      higherIsBetter: false,
      target: "flat (≈ 1.0×)",
    });
    note(
      "memory",
      `${fmtN(total)} events POSTed in ${postS.toFixed(1)} s (${fmtN(total / postS)} events/s: first half ${fmtN(firstHalfRate)}, second half ${fmtN(secondHalfRate)}); slope over the second half ${slope.toFixed(2)} MB per 100k events; ` +
        `RSS ${fmtN(final)} MB ${after} s after the last POST; queue_depth ${depth ?? "?"}`,
    );
    const every = Math.max(1, Math.ceil(samples.length / 20));
    note("memory", `samples (s: events → MB): ${samples.filter((_, i) => i % every === 0 || i === samples.length - 1).map((s) => `${s.t.toFixed(0)}: ${fmtN(s.posted / 1000)}k → ${s.rss.toFixed(0)}`).join(", ")}`);
  } finally {
    if (timer) clearInterval(timer);
    await h?.stop();
    rm(dir);
  }
}
