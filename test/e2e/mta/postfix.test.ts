// Real Postfix on loopback: a private instance (test/e2e/mta/postfix.ts) relays to our SMTP
// sink, and every scenario in scenarios.ts must produce its real log lines. Postfix missing
// is a failure naming the package and .ci/install-mta.sh, never a skip.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { startPostfix, type PostfixHarness } from "./postfix.ts";
import { SCENARIOS, runScenario, type ScenarioRun } from "./scenarios.ts";
import { requireFiles } from "./common.ts";

let pf: PostfixHarness | null = null;
let startError: unknown = null;
const runs = new Map<string, ScenarioRun>();

beforeAll(async () => {
  try {
    pf = await startPostfix();
  } catch (err) {
    startError = err;
  }
}, 45_000);

afterAll(async () => {
  await pf?.stop();
}, 30_000);

function harness(): PostfixHarness {
  if (startError) throw startError;
  if (!pf) throw new Error("postfix harness did not start");
  return pf;
}

describe("postfix harness (real Postfix on 127.0.0.1)", () => {
  test("a missing MTA is reported with its package and the install script", () => {
    expect(() => requireFiles([{ path: "/nonexistent/postfix", what: "Postfix", pkg: "postfix" }])).toThrow(
      /Debian package postfix; run `bash \.ci\/install-mta\.sh`/,
    );
  });

  test("runs a private instance that logs to its own file, loopback only, no DNS", async () => {
    const h = harness();
    expect(h.version).toMatch(/^3\.\d+/);
    expect(h.log.lines().some((l) => /postfix\/master\[\d+\]: daemon started -- version 3\./.test(l))).toBe(true);
    const mainCf = readFileSync(`${h.configDir}/main.cf`, "utf8");
    for (const must of [
      "inet_interfaces = 127.0.0.1",
      "smtp_dns_support_level = disabled",
      "smtp_host_lookup = native",
      "smtpd_peername_lookup = no",
      `sink.test smtp:[127.0.0.1]:${h.sink.port}`,
    ]) {
      expect(mainCf + readFileSync(`${h.configDir}/transport`, "utf8")).toContain(must);
    }
  });

  for (const s of SCENARIOS) {
    test(`scenario ${s.name}: ${s.title}`, async () => {
      const run = await runScenario(harness(), s);
      runs.set(s.name, run);
      expect(run.queueId).toMatch(/^[0-9A-F]{6,}$/);
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
    // bounce notices reach the sender from the null sender
    expect(h.sink.messages.some((m) => m.mailFrom === "" && m.rcptTo.includes("sender@sink.test"))).toBe(true);
  });

  test("the instance logged no warning, error or fatal", () => {
    expect(
      harness()
        .log.lines()
        .filter((l) => /postfix\/[\w-]+\[\d+\]: (warning|error|fatal|panic):/.test(l)),
    ).toEqual([]);
  });

  test("flushQueue retries the deferred messages (deferred again)", async () => {
    const h = harness();
    const since = h.log.mark();
    await h.flushQueue();
    for (const rcpt of ["soft@sink.test", "soft-multi@sink.test"]) {
      await h.waitForLog(
        new RegExp(`to=<${rcpt.replace(/\./g, "\\.")}>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${h.sink.port}, .*status=deferred`),
        15_000,
        since,
      );
    }
    await h.waitForLog(/to=<ok@refused\.test>, relay=none, .*status=deferred \(connect to .*Connection refused\)/, 15_000, since);
  }, 30_000);
});
