// `bun run bench parse`: `hookd parse` against pflogsumm (and mtail when installed) on two
// logs of the same length: the generated one (bench/postfix-log.ts: connects, TLS and
// rejects around every message, a shape pflogsumm happens to be slow on) and a real-shape one
// (bench/real-log.ts: our e2e harness's real Postfix log, test/fixtures/postfix-e2e.log,
// repeated with fresh identities). Runs alternate between the tools so each sees the same
// load; the best of each is the figure and the spread is noted. The counts operators
// reconcile (delivered, deferrals, bounced, rejected) must come out equal.
import path from "node:path";
import { hookdTotals, parseSummaryCounts, PFLOGSUMM, pflogsummTotals, type Totals } from "./log-totals.ts";
import { BUN, envNum, fmtN, MAIN_TS, note, peakRssMB, rm, tmp, type Row } from "./perf-common.ts";
import { generate } from "./postfix-log.ts";
import { realShapeLog } from "./real-log.ts";

export const E2E_LOG = path.join(import.meta.dir, "../test/fixtures/postfix-e2e.log");
const MTAIL_PROG = "/usr/share/doc/mtail/examples/postfix.mtail";

type Run = { ms: number; stdout: string; stderr: string; rssMB: number };

/** One run of a command, its output kept (stdout only when asked: hookd's is the events). */
async function runOnce(cmd: string[], keepStdout: boolean): Promise<Run> {
  const t0 = performance.now();
  const p = Bun.spawn(cmd, { stdout: keepStdout ? "pipe" : "ignore", stderr: "pipe" });
  // VmHWM only grows: its last reading before exit is the peak.
  let rssMB = 0;
  const watch = setInterval(() => (rssMB = Math.max(rssMB, peakRssMB(p.pid) || 0)), 20);
  const [stdout, stderr, code] = await Promise.all([
    keepStdout ? new Response(p.stdout as ReadableStream).text() : "",
    new Response(p.stderr).text(),
    p.exited,
  ]);
  clearInterval(watch);
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}: ${stderr.slice(0, 400)}`);
  return { ms, stdout, stderr, rssMB };
}

type Tool = { name: string; cmd: string[]; keepStdout: boolean };

/** Each tool `runs` times, interleaved; per tool the runs in order. */
async function interleaved(tools: Tool[], runs: number): Promise<Map<string, Run[]>> {
  const out = new Map<string, Run[]>(tools.map((t) => [t.name, []]));
  for (let i = 0; i < runs; i++) for (const t of tools) out.get(t.name)!.push(await runOnce(t.cmd, t.keepStdout));
  return out;
}

const best = (runs: Run[]) => Math.min(...runs.map((r) => r.ms));
const spread = (runs: Run[]) => runs.map((r) => (r.ms / 1000).toFixed(2)).join("/");
const show = (t: Totals) => `delivered ${t.delivered}, deferrals ${t.deferrals}, bounced ${t.bounced}, rejected ${t.rejected}`;

async function oneLog(rows: Row[], label: string, file: string, lines: number, runs: number, progs: string | null): Promise<void> {
  // BENCH_CPU_PROF=DIR profiles each hookd run into DIR, as for the other sections' subprocesses.
  const prof = process.env.BENCH_CPU_PROF;
  const profile = prof
    ? ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${prof}`, `--cpu-prof-name=hookd-parse-${label.split(" ")[0]}-${Date.now()}`]
    : [];
  const tools: Tool[] = [
    { name: "hookd", cmd: [BUN, ...profile, MAIN_TS, "parse", "--format", "postfix", file], keepStdout: false },
    { name: "pflogsumm", cmd: [PFLOGSUMM, file], keepStdout: true },
  ];
  if (progs) tools.push({ name: "mtail", cmd: ["mtail", "-one_shot", "-progs", progs, "-logs", file, "-logtostderr"], keepStdout: false });
  const results = await interleaved(tools, runs);
  const hookd = results.get("hookd")!;
  const pflogsumm = results.get("pflogsumm")!;
  const rate = (ms: number) => lines / (ms / 1000);
  const ours = hookdTotals(parseSummaryCounts(hookd[0]!.stderr));
  const theirs = pflogsummTotals(pflogsumm[0]!.stdout);
  const equal = JSON.stringify(ours) === JSON.stringify(theirs);
  note(
    "parse",
    `${label}: hookd ${spread(hookd)} s, pflogsumm ${spread(pflogsumm)} s (runs in order, interleaved); hookd max RSS ${fmtN(Math.max(...hookd.map((r) => r.rssMB)))} MB`,
  );
  note("parse", `${label}: counts ${equal ? "equal" : "DIFFER"}: hookd ${show(ours)}${equal ? "" : `; pflogsumm ${show(theirs)}`}`);
  const figure = `parse: hookd parse, ${(lines / 1e6).toFixed(1)}M ${label} lines`;
  rows.push({
    figure,
    baseline: "pflogsumm, same file",
    baselineValue: rate(best(pflogsumm)),
    value: rate(best(hookd)),
    unit: "lines/s",
    higherIsBetter: true,
    target: "≥ 3×",
  });
  const mtail = results.get("mtail");
  if (mtail)
    rows.push({
      figure,
      baseline: "mtail postfix.mtail, same file",
      baselineValue: rate(best(mtail)),
      value: rate(best(hookd)),
      unit: "lines/s",
      higherIsBetter: true,
      target: "≥ 2×",
    });
}

export async function parseFigures(rows: Row[]): Promise<void> {
  const lines = envNum("BENCH_PARSE_LINES", 1_000_000);
  const runs = envNum("BENCH_PARSE_RUNS", 3);
  if (!Bun.which(PFLOGSUMM)) throw new Error(`${PFLOGSUMM} is not installed (apt-get install pflogsumm): it is this section's baseline`);
  const dir = tmp();
  try {
    let progs: string | null = null;
    if (Bun.which("mtail") && (await Bun.file(MTAIL_PROG).exists())) {
      progs = path.join(dir, "mtail");
      await Bun.write(path.join(progs, "postfix.mtail"), Bun.file(MTAIL_PROG));
    } else console.error("(mtail not installed: no mtail baseline)");
    const generated = path.join(dir, "generated.log");
    await Bun.write(generated, generate(lines).join("\n") + "\n");
    await oneLog(rows, "generated Postfix", generated, lines, runs, progs);
    rm(generated);
    const real = path.join(dir, "real-shape.log");
    await Bun.write(real, await realShapeLog(E2E_LOG, lines));
    await oneLog(rows, "real-shape Postfix (e2e log repeated)", real, lines, runs, progs);
  } finally {
    rm(dir);
  }
}
