// The README's Exim configuration for feedback mail, on a REAL Exim (test/e2e/mta/exim.ts: a
// private instance on loopback): a router for the bounce domain, then either the smtp
// transport in LMTP mode to hookd's listener, or a pipe transport running `hookd feedback`.
// A real DSN (Postfix's, from the sisimai corpus) submitted locally with a null sender goes
// through each; hookd stores its out_of_band event once, matched by the returned Message-ID.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Event } from "../../../src/events/schema.ts";
import { BUN, MAIN_TS, startTestApp, type TestApp } from "../../helpers/hookd.ts";
import { fixture } from "../../feedback/helpers.ts";
import { startExim, type EximHarness } from "../mta/exim.ts";
import { sqliteOf } from "../../../src/store/sqlite/driver.ts";

/** One report per transport, each about a message hookd stored: [domain, transport, fixture, its returned Message-ID, the recipient, the DSN status]. */
const CASES = [
  [
    "bounces.test",
    "hookd_lmtp",
    "sisimai/rhost-google-06.eml",
    "222222EA-20C2-2200-EEEE-2222CEEEEA21@example.jp",
    "michitsuna@example.org",
    "5.7.25",
  ],
  ["pipe.test", "hookd_pipe", "sisimai/lhost-postfix-57.eml", "44kWHZ2S3Qz1yxHC@rokujo.cr.nyaan.jp", "kijitora@cr.nyaan.jp", "5.2.1"],
] as const;

let exim: EximHarness | null = null;
let app: TestApp | null = null;

function need() {
  if (!exim || !app) throw new Error("Exim and hookd did not start (see beforeAll)");
  return { exim, app };
}

/** The README's router and transports, with this test's port, paths and user. */
function withFeedbackRoutes(conf: string, port: number, toml: string): string {
  // One router for both domains (the README's shows one transport); Exim expands the choice.
  const router = [
    "hookd_feedback:",
    "  driver = accept",
    "  domains = bounces.test : pipe.test",
    `  transport = \${if eq{$domain}{pipe.test}{hookd_pipe}{hookd_lmtp}}`,
    "",
  ].join("\n");
  const transports = [
    "hookd_lmtp:",
    "  driver = smtp",
    "  protocol = lmtp",
    "  hosts = 127.0.0.1",
    `  port = ${port}`,
    "  allow_localhost",
    "hookd_pipe:",
    "  driver = pipe",
    // No envelope arguments: Exim refuses tainted $local_part@$domain there; hookd feedback
    // reads SENDER and RECIPIENT from the pipe transport's environment.
    `  command = ${BUN} ${MAIN_TS} feedback --config ${toml}`,
    "  user = nobody",
    "  temp_errors = 75",
    "",
  ].join("\n");
  return conf.replace("begin routers\n", `begin routers\n${router}`).replace("begin transports\n", `begin transports\n${transports}`);
}

beforeAll(async () => {
  exim = await startExim();
  app = await startTestApp({ feedback: { listen: "127.0.0.1:0", local_mtas: ["mx.hookd.test"] } });
  const res = await app.api("POST", "/events", {
    body: CASES.map(([, , , mid, rcpt], i) => ({
      type: "injection",
      host: "mx1",
      queue_id: `1P1ce${i}-000Egt-GZ`,
      message_id: mid,
      mail_from: "sender@bounces.test",
      rcpt_to: rcpt,
    })),
  });
  if (res.status !== 200) throw new Error(`POST /events: ${res.status} ${await res.text()}`);
  // pipe transports never run as root: the store's files are made writable for nobody.
  const dir = dirname(app.config.storage.path);
  const toml = join(dir, "pipe.toml");
  writeFileSync(toml, `[storage]\npath = ${JSON.stringify(app.config.storage.path)}\n`);
  chmodSync(dir, 0o777);
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o666);
  // `exim -odi` reads the file at each run: the deliveries below use the new routes.
  writeFileSync(exim.configPath, withFeedbackRoutes(readFileSync(exim.configPath, "utf8"), app.hookd.feedback!.port!, toml));
}, 60_000);

afterAll(async () => {
  await app?.stop();
  await exim?.stop();
}, 30_000);

function outOfBand(t: TestApp, rcpt: string): Event[] {
  return (
    sqliteOf(t.hookd.store).query("SELECT body FROM events WHERE type = 'out_of_band' AND rcpt_to = ? ORDER BY seq").all(rcpt) as {
      body: string;
    }[]
  ).map((r) => JSON.parse(r.body) as Event);
}

describe("the README's Exim routes to hookd", () => {
  CASES.forEach(([domain, transport, file, mid, rcpt, dsn], i) => {
    test(`${transport}: a DSN to sender@${domain} is delivered and becomes one out_of_band event`, async () => {
      const { exim, app } = need();
      const since = exim.log.mark();
      const report = new TextDecoder("latin1").decode(fixture(file));
      // Submitted twice, as an MTA's retry would: the same event ids, stored once.
      for (let n = 0; n < 2; n++) await exim.exim(["-odi", "-oi", "-f", "<>", "--", `sender@${domain}`], { stdin: report });
      // Exim logs a local delivery as "=> sender <sender@pipe.test>", a remote one as "=> sender@…".
      const at = `sender@${domain.replace(".", "\\.")}`;
      const lines = await exim.log.waitForCount(
        new RegExp(`=> (?:${at}|sender <${at}>) R=hookd_feedback T=${transport}`),
        2,
        30_000,
        since,
      );
      expect(lines).toHaveLength(2);
      expect(
        exim.log
          .lines()
          .slice(since)
          .filter((l) => / (\*\*|==) /.test(l)),
      ).toEqual([]);
      const events = outOfBand(app, rcpt);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ queue_id: `1P1ce${i}-000Egt-GZ`, message_id: mid, host: "mx1", dsn });
    }, 60_000);
  });
});
