// ingest: a generated Postfix log, already written, read by hookd (`bun src/main.ts serve`, a
// [[sources]] entry with start_at = "beginning") until every event is committed; against the
// same events inserted raw with bun:sqlite (same schema, WAL + synchronous FULL, one prepared
// statement, transactions of 1000).
import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import path from "node:path";
import { createLogParser } from "../src/ingest/parse/index.ts";
import {
  cpuSeconds,
  envNum,
  fmtN,
  hookdToml,
  note,
  rawInsertRate,
  rm,
  spawnHookd,
  tmp,
  waitUntil,
  type EventLike,
  type Row,
} from "./perf-common.ts";
import { generate } from "./postfix-log.ts";

export async function ingestFigures(rows: Row[]) {
  const lines = envNum("BENCH_INGEST_LINES", 500_000);
  const dir = tmp();
  const log = path.join(dir, "mail.log");
  const text = generate(lines);
  await Bun.write(log, text.join("\n") + "\n");

  // The events hookd should commit, from the same parser in this process: the count to wait
  // for and the rows for the raw baseline.
  const parser = createLogParser({ format: "postfix", host: "mx1" });
  const events: EventLike[] = [];
  for (const l of text) for (const e of parser.feed(l)) events.push(e as EventLike);
  const expected = events.length;

  let h: Awaited<ReturnType<typeof spawnHookd>> | null = null;
  let db: Database | null = null;
  try {
    // BENCH_INGEST_FEEDBACK=1: with the feedback LMTP listener on, so the message_lookup index
    // job follows the ingest (what an operator with [feedback] pays on the log path).
    const feedback = process.env.BENCH_INGEST_FEEDBACK === "1" ? '\n[feedback]\nlisten = "127.0.0.1:0"\n' : "";
    h = await spawnHookd({
      dir,
      toml: hookdToml(dir, { sources: [{ path: log }] }) + feedback,
      label: feedback ? "ingest+feedback" : "ingest",
    });
    const dbPath = path.join(dir, "hookd.db");
    await waitUntil(() => existsSync(dbPath), 5000, 5);
    db = new Database(dbPath, { readonly: true });
    const maxSeq = db.query("SELECT COALESCE(MAX(seq), 0) AS n FROM events");
    let seen = 0;
    let changedAt = performance.now();
    let firstAt = 0;
    await waitUntil(
      () => {
        const n = (maxSeq.get() as { n: number }).n;
        const t = performance.now();
        if (n > 0 && !firstAt) firstAt = t;
        if (n !== seen) {
          seen = n;
          changedAt = t;
        }
        // Done at the expected count, or when nothing changed for 3 s after the log was read.
        return n >= expected || (n > 0 && t - changedAt > 3000);
      },
      300_000,
      10,
    );
    const cpu = cpuSeconds(h.pid);
    const cpuWall = (performance.now() - h.spawnedAt) / 1000;
    const count = (db.query("SELECT count(*) AS n FROM events").get() as { n: number }).n;
    const fromStarted = count / ((changedAt - h.startedAt) / 1000);
    const fromSpawn = count / ((changedAt - h.spawnedAt) / 1000);
    const raw = rawInsertRate(events, 1000, log);
    rows.push({
      figure: `ingest: ${fmtN(lines)}-line Postfix log → events committed${feedback ? " ([feedback] on: lookup index job running)" : ""}`,
      baseline: "raw bun:sqlite insert of the same rows, tx of 1000",
      baselineValue: raw,
      value: fromStarted,
      unit: "events/s",
      higherIsBetter: true,
      target: "≥ 0.5×",
    });
    note(
      "ingest",
      `${fmtN(count)} of ${fmtN(expected)} expected events committed ${((changedAt - h.startedAt) / 1000).toFixed(2)} s after the "hookd started" line ` +
        `(${((changedAt - h.spawnedAt) / 1000).toFixed(2)} s after spawn: ${fmtN(fromSpawn)} events/s, ${fmtN(lines / ((changedAt - h.spawnedAt) / 1000))} lines/s); ` +
        `first event visible ${((firstAt - h.spawnedAt) / 1000).toFixed(2)} s after spawn; hookd used ${cpu.toFixed(1)} s of CPU in ${cpuWall.toFixed(1)} s since spawn (${Math.round((cpu / cpuWall) * 100)}% of one core)`,
    );
    // Diagnostic: the raw insert with transactions as small as hookd's (the tailer hands over
    // at most 1,000 lines a chunk, and each chunk is one synchronous=FULL commit).
    const perChunk = Math.max(1, Math.round((expected / lines) * 1000));
    note(
      "ingest",
      `raw insert with ${perChunk}-event transactions (≈ one 1,000-line chunk): ${fmtN(rawInsertRate(events, perChunk, log))} events/s`,
    );
    if (count !== expected) note("ingest", `WARNING: hookd committed ${count} events, the in-process parser found ${expected}`);
  } finally {
    db?.close();
    await h?.stop();
    rm(dir);
  }
}
