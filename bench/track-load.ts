// An open-loop load client for the tracking bench, in its own process so that it never shares
// an event loop with the server it measures: GETs the URLs of a file (one a line, in turn) at
// RATE requests a second for SECONDS, over keep-alive connections, without following redirects.
// Latency counts from when a request was due, not when it was sent, so a stalled server is not
// hidden by the client waiting for it (no coordinated omission). Prints one JSON line.
//   bun bench/track-load.ts URLS_FILE RATE SECONDS
export {};
const [file, rateText, secondsText] = process.argv.slice(2);
const urls = (await Bun.file(file!).text()).split("\n").filter(Boolean);
const rate = Number(rateText);
const seconds = Number(secondsText);
const UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

const latencies: number[] = [];
let errors = 0;
const statuses: Record<number, number> = {};
const inflight = new Set<Promise<void>>();
const t0 = performance.now();
let sent = 0;
const total = Math.floor(rate * seconds);
while (sent < total) {
  const now = performance.now();
  const due = Math.min(total, Math.floor(((now - t0) / 1000) * rate) + 1);
  for (; sent < due; sent++) {
    const dueAt = t0 + (sent / rate) * 1000;
    const url = urls[sent % urls.length]!;
    const p = fetch(url, { redirect: "manual", headers: { "user-agent": UA } })
      .then(async (res) => {
        await res.arrayBuffer();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        latencies.push(performance.now() - dueAt);
      })
      .catch(() => void errors++)
      .finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await Bun.sleep(1);
}
await Promise.all(inflight);
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
console.log(
  JSON.stringify({
    sent,
    answered: latencies.length,
    errors,
    statuses,
    p50: pct(50),
    p99: pct(99),
    max: latencies.at(-1) ?? NaN,
    seconds: (performance.now() - t0) / 1000,
  }),
);
