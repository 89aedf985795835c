// e2e-log: a writer in this process appends generated Postfix lines to a log at a fixed offered
// rate for BENCH_E2E_SECONDS (default 60) while hookd (subprocess) tails it and delivers to one
// receiver (another subprocess). The figure is what the receiver got between t = warm-up
// (10 s) and the end, per second; the baseline is what the writer appended in the same window.
import { Database } from "bun:sqlite";
import { closeSync, existsSync, openSync, statSync, writeSync } from "node:fs";
import path from "node:path";
import { createLogParser } from "../src/ingest/parse/index.ts";
import {
  cpuSeconds,
  createWebhook,
  envNum,
  fmtN,
  hookdToml,
  note,
  nowMs,
  rm,
  sleep,
  spawnHookd,
  startReceiver,
  tmp,
  waitUntil,
  type Row,
} from "./perf-common.ts";
import { generate, postfixLines } from "./postfix-log.ts";

/** Events per line of the generated log (the parser in this process over a sample). */
export function eventsPerLine(sample = 100_000): number {
  const parser = createLogParser({ format: "postfix", host: "mx1" });
  let n = 0;
  for (const l of generate(sample)) n += parser.feed(l).length;
  return n / sample;
}

/** The writer flat out (generate + append) for `ms`, in lines/s: the most this bench can offer. */
function writerMaxRate(file: string, ms = 1500): number {
  const gen = postfixLines({ seed: 7 });
  const fd = openSync(file, "a");
  const t0 = performance.now();
  let lines = 0;
  while (performance.now() - t0 < ms) {
    let s = "";
    for (let i = 0; i < 5000; i++) s += gen.next().value + "\n";
    writeSync(fd, s);
    lines += 5000;
  }
  const rate = lines / ((performance.now() - t0) / 1000);
  closeSync(fd);
  rm(file);
  return rate;
}

/** Behind the writer by at most this much at the end of the run counts as keeping up. */
const KEPT_UP_WITHIN_S = 3;

export async function e2eLogFigures(rows: Row[]) {
  const seconds = envNum("BENCH_E2E_SECONDS", 60);
  const offered = envNum("BENCH_E2E_RATE", 60_000);
  const warm = seconds >= 20 ? 10 : seconds / 3;
  const ratio = eventsPerLine();
  const dir = tmp();
  const log = path.join(dir, "mail.log");
  const maxLines = writerMaxRate(path.join(dir, "scratch.log"));
  await Bun.write(log, "");

  const receiver = await startReceiver("count");
  let h: Awaited<ReturnType<typeof spawnHookd>> | null = null;
  let fd = -1;
  let db: Database | null = null;
  try {
    h = await spawnHookd({ dir, toml: hookdToml(dir, { sources: [{ path: log }] }), label: "e2e-log" });
    await createWebhook(h, "e2e", `${receiver.url}/e2e`);
    const dbPath = path.join(dir, "hookd.db");
    await waitUntil(() => existsSync(dbPath), 5000, 5);
    db = new Database(dbPath, { readonly: true });
    const committedQ = db.query("SELECT COALESCE(MAX(seq), 0) AS n FROM events");
    const offsetQ = db.query("SELECT COALESCE(MAX(offset), 0) AS o FROM source_checkpoints");

    // Distinct queue ids from the parse log's, log time from now: every line makes new events.
    const gen = postfixLines({ seed: 4242, queueIdStart: 0x10000000000, startMs: Date.now() });
    const linesPerSec = offered / ratio;
    fd = openSync(log, "a");
    const timeline: string[] = [];
    const wall0 = nowMs();
    const t0 = performance.now();
    const cpu0 = { hookd: cpuSeconds(h.pid), receiver: cpuSeconds(receiver.pid), bench: process.cpuUsage() };
    let written = 0;
    let writtenAtWarm = 0;
    let nextSample = 5000;
    for (;;) {
      const elapsed = performance.now() - t0;
      if (elapsed >= seconds * 1000) break;
      if (!writtenAtWarm && elapsed >= warm * 1000) writtenAtWarm = written;
      const due = Math.min(Math.floor((elapsed / 1000) * linesPerSec) - written, 20_000);
      if (due > 0) {
        let s = "";
        for (let i = 0; i < due; i++) s += gen.next().value + "\n";
        writeSync(fd, s);
        written += due;
      }
      if (elapsed >= nextSample) {
        nextSample += 5000;
        const st = await receiver.stats();
        const committed = (committedQ.get() as { n: number }).n;
        const lagBytes = statSync(log).size - (offsetQ.get() as { o: number }).o;
        timeline.push(
          `${Math.round(elapsed / 1000)}s: appended ≈${fmtN(written * ratio)} committed ${fmtN(committed)} delivered ${fmtN(st.total)} ingest lag ${fmtN(lagBytes / 1e6)} MB`,
        );
      }
      await sleep(due >= 20_000 ? 0 : 10);
    }
    const wallEnd = nowMs();
    const runS = (performance.now() - t0) / 1000;
    const benchCpu = process.cpuUsage(cpu0.bench);
    const cpuShare = (a: number) => `${Math.round((a / runS) * 100)}%`;
    const cpu = `CPU over the run (of one core): hookd ${cpuShare(cpuSeconds(h.pid) - cpu0.hookd)}, receiver ${cpuShare(cpuSeconds(receiver.pid) - cpu0.receiver)}, writer (bench) ${cpuShare((benchCpu.user + benchCpu.system) / 1e6)}`;
    closeSync(fd);
    fd = -1;
    const stats = await receiver.stats();
    const committed = (committedQ.get() as { n: number }).n;
    const size = statSync(log).size;
    const lagBytes = size - (offsetQ.get() as { o: number }).o;

    const from = Math.floor((wall0 + warm * 1000) / 100);
    const to = Math.floor(wallEnd / 100);
    let inWindow = 0;
    for (const [b, n] of stats.buckets) if (b >= from && b < to) inWindow += n;
    const windowS = (to - from) / 10;
    const deliveredRate = inWindow / windowS;
    const appendedRate = ((written - writtenAtWarm) * ratio) / (seconds - warm);
    const writerBehind = written < linesPerSec * seconds * 0.98;
    // How far behind, in seconds of the writer's output: unread bytes at its byte rate plus
    // committed-but-undelivered events at its event rate. A pipeline is always a little behind
    // (a chunk being parsed, a batch waiting for batch_max_wait); falling behind grows this.
    const behindS = lagBytes / (size / runS) + (committed - stats.total) / offered;

    rows.push({
      figure: `end to end: log append → 2xx at 1 receiver, sustained ${fmtN(seconds - warm)} s`,
      baseline: "events appended by the writer, same window",
      baselineValue: appendedRate,
      value: deliveredRate,
      unit: "events/s",
      higherIsBetter: true,
      target: "≥ 50,000 events/s",
    });
    note(
      "e2e-log",
      `writer offered ${fmtN(offered)} events/s (${fmtN(linesPerSec)} lines/s at ${ratio.toFixed(3)} events/line); its own max ≈ ${fmtN(maxLines)} lines/s ≈ ${fmtN(maxLines * ratio)} events/s` +
        (writerBehind ? ` — the WRITER fell behind its offered rate (${fmtN(written)} of ${fmtN(linesPerSec * seconds)} lines)` : ""),
    );
    note(
      "e2e-log",
      `after ${seconds} s: ${fmtN(written)} lines (${fmtN(size / 1e6)} MB) appended ≈ ${fmtN(written * ratio)} events; ${fmtN(committed)} committed; ${fmtN(stats.total)} delivered in ${fmtN(stats.requests)} POSTs; ` +
        `ingest lag ${fmtN(lagBytes / 1e6)} MB; delivery lag ${fmtN(committed - stats.total)} events` +
        `; ${behindS.toFixed(1)} s of log behind the writer at the end` +
        (behindS > KEPT_UP_WITHIN_S ? ` → hookd did NOT keep up (more than ${KEPT_UP_WITHIN_S} s behind)` : " → hookd kept up"),
    );
    note("e2e-log", cpu);
    note("e2e-log", `timeline: ${timeline.join("; ")}`);
  } finally {
    if (fd >= 0) closeSync(fd);
    db?.close();
    await h?.stop();
    await receiver.stop();
    rm(dir);
  }
}
