// fanout: the same BENCH_FANOUT_EVENTS events POSTed to /api/v1/events of a hookd subprocess
// with BENCH_FANOUT_WEBHOOKS (100) webhooks on "*" vs with 1; one receiver subprocess for both
// (a path per webhook). The figure is each webhook's delivered events/s: events / (last
// receipt − first POST); the baseline is the 1-webhook rate measured just before.
import {
  cpuSeconds,
  createWebhook,
  envNum,
  fmtN,
  hookdToml,
  makeEvents,
  note,
  nowMs,
  rm,
  spawnHookd,
  startReceiver,
  tmp,
  waitUntil,
  type ReceiverProc,
  type Row,
} from "./perf-common.ts";

type RunResult = { perWebhook: number; seconds: number; complete: number; slowest: number; cpu: { hookd: number; receiver: number } };

async function run(receiver: ReceiverProc, webhooks: number, events: number): Promise<RunResult> {
  const dir = tmp();
  let h: Awaited<ReturnType<typeof spawnHookd>> | null = null;
  try {
    h = await spawnHookd({ dir, toml: hookdToml(dir), label: `fanout-${webhooks}` });
    const paths: string[] = [];
    for (let i = 0; i < webhooks; i++) {
      paths.push(`/f${webhooks}-${i}`);
      await createWebhook(h, `f${i}`, `${receiver.url}${paths[i]}`);
    }
    await receiver.reset();
    const all = makeEvents(events, `fan${webhooks}`);
    const bodies: string[] = [];
    for (let i = 0; i < events; i += 10_000) bodies.push(JSON.stringify(all.slice(i, i + 10_000)));
    const wall0 = nowMs();
    const cpu0 = { hookd: cpuSeconds(h.pid), receiver: cpuSeconds(receiver.pid) };
    for (const body of bodies) {
      const r = await h.api("POST", "/events", body);
      if (r.status !== 200) throw new Error(`POST /events answered ${r.status}: ${await r.text()}`);
    }
    let stats = await receiver.stats();
    const limitS = envNum("BENCH_FANOUT_TIMEOUT_SECONDS", 180);
    await waitUntil(
      async () => {
        stats = await receiver.stats();
        return paths.every((p) => (stats.perPath[p] ?? 0) >= events);
      },
      limitS * 1000,
      100,
    );
    const seconds = ((stats.last || nowMs()) - wall0) / 1000;
    // Shares of one core over the run: with two cores, their sum says whether the machine was full.
    const cpu = { hookd: (cpuSeconds(h.pid) - cpu0.hookd) / seconds, receiver: (cpuSeconds(receiver.pid) - cpu0.receiver) / seconds };
    const counts = paths.map((p) => stats.perPath[p] ?? 0);
    const delivered = counts.reduce((a, b) => a + b, 0);
    return {
      perWebhook: delivered / webhooks / seconds,
      seconds,
      complete: counts.filter((c) => c >= events).length,
      slowest: Math.min(...counts),
      cpu,
    };
  } finally {
    await h?.stop();
    rm(dir);
  }
}

const pct = (share: number) => `${Math.round(share * 100)}%`;

export async function fanoutFigures(rows: Row[]) {
  const events = envNum("BENCH_FANOUT_EVENTS", 100_000);
  const many = envNum("BENCH_FANOUT_WEBHOOKS", 100);
  const receiver = await startReceiver("count");
  try {
    const one = await run(receiver, 1, events);
    const fan = await run(receiver, many, events);
    rows.push({
      figure: `fan-out: ${many} webhooks on *, delivered per webhook`,
      baseline: "1 webhook, same events and receiver",
      baselineValue: one.perWebhook,
      value: fan.perWebhook,
      unit: "events/s",
      higherIsBetter: true,
      target: "≥ 0.5×",
    });
    note(
      "fanout",
      `${fmtN(events)} events POSTed in chunks of 10,000; 1 webhook: all in ${one.seconds.toFixed(2)} s; ${many} webhooks: ${fan.complete}/${many} complete in ${fan.seconds.toFixed(2)} s ` +
        `(slowest got ${fmtN(fan.slowest)}), ${fmtN(fan.perWebhook * many)} event deliveries/s in all; ` +
        `CPU (of one core): 1 webhook hookd ${pct(one.cpu.hookd)} receiver ${pct(one.cpu.receiver)}; ${many} webhooks hookd ${pct(fan.cpu.hookd)} receiver ${pct(fan.cpu.receiver)}`,
    );
  } finally {
    await receiver.stop();
  }
}
