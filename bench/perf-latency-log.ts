// latency-log: 1,000 lines a second appended to a Postfix log for BENCH_LATENCY_SECONDS (20),
// each a NOQUEUE reject with its own recipient, so each line is exactly one event. hookd
// (subprocess, delivery.batch_max_wait = 1s) delivers to a receiver subprocess that records
// when each recipient arrived; latency = receipt − append (both wall clock, same machine).
import { closeSync, openSync, writeSync } from "node:fs";
import path from "node:path";
import {
  createWebhook,
  envNum,
  fmtN,
  hookdToml,
  note,
  nowMs,
  percentile,
  rm,
  sleep,
  spawnHookd,
  startReceiver,
  syslogStamp,
  tmp,
  waitUntil,
  type Row,
} from "./perf-common.ts";

export async function latencyLogFigures(rows: Row[]) {
  const seconds = envNum("BENCH_LATENCY_SECONDS", 20);
  const rate = envNum("BENCH_LATENCY_RATE", 1000);
  const waitMs = 1000;
  const dir = tmp();
  const log = path.join(dir, "mail.log");
  await Bun.write(log, "");
  const receiver = await startReceiver("latency");
  let h: Awaited<ReturnType<typeof spawnHookd>> | null = null;
  let fd = -1;
  try {
    h = await spawnHookd({
      dir,
      toml: hookdToml(dir, { sources: [{ path: log }], delivery: { batch_max_wait: "1s" } }),
      label: "latency-log",
    });
    await createWebhook(h, "lat", `${receiver.url}/lat`);
    await sleep(300);
    fd = openSync(log, "a");
    const sent = new Map<string, number>();
    const t0 = performance.now();
    let i = 0;
    for (;;) {
      const elapsed = performance.now() - t0;
      if (elapsed >= seconds * 1000) break;
      const due = Math.floor((elapsed / 1000) * rate) - i;
      if (due > 0) {
        const stamp = syslogStamp(Date.now());
        const rcpts: string[] = [];
        let s = "";
        for (let k = 0; k < due; k++, i++) {
          const rcpt = `lat-${i}@example.com`;
          rcpts.push(rcpt);
          const pid = 3000 + (i % 500);
          s += `${stamp} mx1 postfix/smtpd[${pid}]: NOQUEUE: reject: RCPT from client${pid}.example[192.0.2.${(i % 250) + 1}]: 554 5.7.1 <${rcpt}>: Relay access denied; from=<app@sender.example> to=<${rcpt}> proto=ESMTP helo=<client${pid}.example>\n`;
        }
        writeSync(fd, s);
        const at = nowMs();
        for (const r of rcpts) sent.set(r, at);
      }
      await sleep(2);
    }
    closeSync(fd);
    fd = -1;
    await waitUntil(async () => (await receiver.stats()).total >= i, waitMs + 10_000, 100);
    const lat: number[] = [];
    for (const [rcpt, at] of await receiver.received()) {
      const t = sent.get(rcpt);
      if (t !== undefined) lat.push(at - t);
    }
    lat.sort((a, b) => a - b);
    const p50 = percentile(lat, 50);
    const p99 = percentile(lat, 99);
    rows.push({
      figure: `latency: log append → receiver p50, ${fmtN(rate)} events/s`,
      baseline: "batch_max_wait",
      baselineValue: waitMs,
      value: p50,
      unit: "ms",
      higherIsBetter: false,
    });
    rows.push({
      figure: `latency: log append → receiver p99, ${fmtN(rate)} events/s`,
      baseline: "batch_max_wait",
      baselineValue: waitMs,
      value: p99,
      unit: "ms",
      higherIsBetter: false,
      target: `≤ ${fmtN(waitMs + 200)} ms`,
    });
    note(
      "latency-log",
      `${fmtN(i)} lines appended over ${seconds} s, ${fmtN(lat.length)} events received (${fmtN(i - lat.length)} missing); ` +
        `min ${fmtN(lat[0] ?? NaN)} p90 ${fmtN(percentile(lat, 90))} p99.9 ${fmtN(percentile(lat, 99.9))} max ${fmtN(lat[lat.length - 1] ?? NaN)} ms`,
    );
  } finally {
    if (fd >= 0) closeSync(fd);
    await h?.stop();
    await receiver.stop();
    rm(dir);
  }
}
