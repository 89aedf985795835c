// Real Exim on loopback, beside Postfix: the binary unpacked by .ci/install-mta.sh runs with
// a private config (test/e2e/mta/exim.ts) that routes to our SMTP sink, and every scenario
// in scenarios.ts must produce its real log lines. Exim missing is a failure naming the
// package and .ci/install-mta.sh, never a skip.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { startExim, EXIM_TRUSTED_CONFIG_LIST, type EximHarness } from "./exim.ts";
import { SCENARIOS, runScenario, type ScenarioRun } from "./scenarios.ts";

let ex: EximHarness | null = null;
let startError: unknown = null;
const runs = new Map<string, ScenarioRun>();

beforeAll(async () => {
  try {
    ex = await startExim();
  } catch (err) {
    startError = err;
  }
}, 45_000);

afterAll(async () => {
  const configPath = ex?.configPath;
  await ex?.stop();
  if (configPath && existsSync(EXIM_TRUSTED_CONFIG_LIST)) {
    // stop() takes its config out of Exim's trusted list again
    expect(readFileSync(EXIM_TRUSTED_CONFIG_LIST, "utf8")).not.toContain(configPath);
  }
}, 30_000);

function harness(): EximHarness {
  if (startError) throw startError;
  if (!ex) throw new Error("exim harness did not start");
  return ex;
}

describe("exim harness (real Exim on 127.0.0.1)", () => {
  test("runs a private daemon with a trusted -C config, its own spool and log, loopback only", async () => {
    const h = harness();
    expect(h.version).toMatch(/^4\.\d+/);
    expect(h.log.lines().some((l) => /exim 4\.\d+ daemon started: pid=\d+, .*listening for SMTP on \[127\.0\.0\.1\]:\d+/.test(l))).toBe(
      true,
    );
    const conf = readFileSync(h.configPath, "utf8");
    for (const must of ["local_interfaces = <; 127.0.0.1", "host_lookup =", `port = ${h.sink.port}`, `port = ${h.refusedPort}`]) {
      expect(conf).toContain(must);
    }
    expect(conf).not.toContain("dnslookup");
    // the config is trusted: no process ran with dropped privileges
    expect(h.log.lines().filter((l) => l.includes("lost privilege"))).toEqual([]);
  });

  for (const s of SCENARIOS) {
    test(`scenario ${s.name}: ${s.title}`, async () => {
      const run = await runScenario(harness(), s);
      runs.set(s.name, run);
      expect(run.queueId).toMatch(/^[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2,4}$/);
    }, 40_000);
  }

  test("the sink saw exactly what the log says was sent", () => {
    const h = harness();
    const got = h.sink.messages.flatMap((m) => m.rcptTo);
    for (const rcpt of ["ok@sink.test", "ok-alias@sink.test", "ok-smtp@sink.test", "ok-multi@sink.test"]) expect(got).toContain(rcpt);
    for (const rcpt of ["hard@sink.test", "soft@sink.test", "blocked@sink.test", "expire@sink.test", "hard-multi@sink.test"]) {
      expect(got).not.toContain(rcpt);
    }
    const delivered = h.sink.messages.find((m) => m.rcptTo.includes("ok@sink.test"));
    expect(delivered?.messageId).toBe(runs.get("delivered")?.messageId ?? "missing");
    expect(h.sink.messages.some((m) => m.mailFrom === "" && m.rcptTo.includes("sender@sink.test"))).toBe(true);
  });

  test("flushQueue retries the deferred messages (deferred again)", async () => {
    const h = harness();
    const since = h.log.mark();
    await h.flushQueue();
    await h.waitForLog(/ == soft@sink\.test R=sink T=sink_smtp defer \(-44\) .*451 4\.2\.0/, 15_000, since);
    await h.waitForLog(/ == soft-multi@sink\.test R=sink T=sink_smtp defer \(-44\) .*451 4\.2\.0/, 15_000, since);
    await h.waitForLog(/ == ok@refused\.test R=refused T=refused_smtp defer \(111\): Connection refused/, 15_000, since);
  }, 30_000);

  test("nothing went to the panic log", () => {
    const panic = join(harness().dir, "log", "paniclog");
    expect(existsSync(panic) ? readFileSync(panic, "utf8") : "").toBe("");
  });
});
