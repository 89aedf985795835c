// Out-of-band bounces end to end with two REAL Postfix instances on loopback (test/e2e/mta/
// postfix.ts: private instances, explicit transports, no DNS, nothing leaves 127.0.0.1):
//
//   A "mx.hookd.test" (the sender's MTA; hookd tails its log, host label mx1)
//     sendmail → A → smtp:[127.0.0.1]:B → B "mx2.remote.test" accepts nouser@remote.test at RCPT
//     (local_recipient_maps is empty), queues it (defer_transports = local, until the test has
//     seen hookd ingest A's lines), then local(8) fails: "unknown user" → B's bounce daemon
//     sends a real RFC 3464 DSN from <> to sender@bounces.test → smtp:[127.0.0.1]:A →
//     A routes bounces.test to lmtp:inet:127.0.0.1:<hookd's LMTP port> → hookd parses the DSN,
//     finds the original by the returned Message-ID among the events of A's log, commits one
//     out_of_band event (250 only after that) → the webhook receiver.
//
// A's log shows the message delivered (to B), so the log gives no bounce: the out_of_band
// event is the only failure event (hookd even reads A's "sent … queued as" to a loopback hop
// as a hand-off whose outcome would come later in the same log: see sendToB). A DSN written by A itself (a local bounce; A is in
// feedback.local_mtas) reaches hookd the same way and is counted, not turned into an event:
// the log already gave its bounce. The last test routes the bounce domain to a pipe(8)
// transport running `hookd feedback` instead (README's master.cf entry) beside the running
// hookd. Matching by VERP token comes with the milter (not built).
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, chmodSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { join } from "node:path";
import type { Event } from "../../../src/events/schema.ts";
import { eventually } from "../../helpers/eventually.ts";
import { BUN, MAIN_TS, startTestApp, type TestApp } from "../../helpers/hookd.ts";
import { startReceiver, type Receiver } from "../../helpers/receiver.ts";
import { startPostfix, type PostfixHarness } from "../mta/postfix.ts";

const SENDER = "sender@bounces.test";
const HOST = "mx1";

let a: PostfixHarness | null = null;
let b: PostfixHarness | null = null;
let app: TestApp | null = null;
let rx: Receiver | null = null;

function need() {
  if (!a || !b || !app || !rx) throw new Error("the two Postfix instances and hookd did not start (see beforeAll)");
  return { a, b, app, rx };
}

/** Sets transport_maps entries, replacing those of the same domains (texthash: read when a process starts, hence the reload). */
async function route(h: PostfixHarness, lines: string[]) {
  const file = join(h.configDir, "transport");
  const domains = new Set(lines.map((l) => l.split(/\s+/)[0]));
  const kept = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() && !domains.has(l.split(/\s+/)[0]!));
  writeFileSync(file, `${[...kept, ...lines].join("\n")}\n`);
  await h.reload();
}

const events = (r: Receiver) => r.requests.flatMap((q) => q.json() as Event[]);
const field = (e: Event, k: string) => (e as Record<string, unknown>)[k];
const ofRcpt = (r: Receiver, type: string, rcpt: string) => events(r).filter((e) => e.type === type && field(e, "rcpt_to") === rcpt);

function storedOutOfBand(t: TestApp, rcpt: string): number {
  return (
    t.hookd.store.sqlite.query("SELECT count(*) AS n FROM events WHERE type = 'out_of_band' AND rcpt_to = ?").get(rcpt) as { n: number }
  ).n;
}

beforeAll(async () => {
  a = await startPostfix();
  b = await startPostfix({
    mainCf: [
      "myhostname = mx2.remote.test",
      "mydestination = remote.test",
      // Accept any local part at RCPT: the failure comes after the 250, as an out-of-band bounce.
      "local_recipient_maps =",
      "defer_transports = local",
    ],
  });
  rx = await startReceiver();
  app = await startTestApp({
    sources: [{ path: a.logPath, format: "postfix", start_at: "beginning", host: HOST, rotate_wait: 100 }],
    feedback: { listen: "127.0.0.1:0", local_mtas: ["mx.hookd.test"] },
    delivery: { batch_max_wait: 100 },
  });
  const res = await app.api("POST", "/webhooks", {
    body: { name: "e2e-feedback", target: `${rx.url}/hook`, events: ["*"], verification: "none" },
  });
  if (res.status !== 201) throw new Error(`creating the webhook: ${res.status} ${await res.text()}`);
  // The harness's master.cf has no lmtp service; A needs one to reach hookd.
  appendFileSync(join(a.configDir, "master.cf"), "lmtp      unix  -       -       n       -       -       lmtp\n");
  await route(a, [`remote.test smtp:[127.0.0.1]:${b.smtpPort}`, `bounces.test lmtp:inet:127.0.0.1:${app.hookd.feedback!.port}`]);
  await route(b, [`bounces.test smtp:[127.0.0.1]:${a.smtpPort}`]);
}, 90_000);

afterAll(async () => {
  await app?.stop();
  await rx?.stop();
  await b?.stop();
  await a?.stop();
}, 60_000);

/**
 * Sends from A to `rcpt` at B; resolves once A logged it delivered to B and hookd sent its
 * injection. (Only that: B answers from 127.0.0.1 with "queued as QID", which hookd's log
 * parser reads as a hand-off to a content filter or a second Postfix instance on this machine
 * whose story continues in the same log; B logs elsewhere. The injection carries what the
 * lookup needs: queue id, Message-ID, recipient, sender.)
 */
async function sendToB(rcpt: string, subject: string) {
  const { a, rx } = need();
  const since = a.log.mark();
  const sent = await a.sendMail({ from: SENDER, to: [rcpt], subject });
  await a.waitForLog(
    new RegExp(`${sent.queueId}: to=<${rcpt}>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${need().b.smtpPort},.* status=sent`),
    20_000,
    since,
  );
  // The lookup needs the original's events stored before its DSN arrives (in real life hours).
  await rx
    .waitFor(() => ofRcpt(rx, "injection", rcpt).length === 1, 15_000)
    .catch((err) => {
      throw new Error(`${(err as Error).message}; events: ${JSON.stringify(events(rx))}\nA's log:\n${a.log.tail(30)}`);
    });
  return { messageId: sent.messageId.replace(/^<|>$/g, ""), queueId: sent.queueId! };
}

/** Lets B's local(8) run now: it bounces what it held. */
async function releaseB() {
  const { b } = need();
  await b.postconf({ defer_transports: "" });
  await b.flushQueue();
}

describe("a real DSN from a second Postfix, through LMTP, becomes one out_of_band event", () => {
  test("matched by the returned Message-ID: the receiver gets the original's rcpt_to, message_id and queue_id", async () => {
    const { a, app, rx } = need();
    const original = await sendToB("nouser@remote.test", "feedback e2e one");
    const since = a.log.mark();
    await releaseB();
    // A hands the DSN to hookd, which answers 250 only after the commit.
    await a.waitForLog(
      /: to=<sender@bounces\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+,.* status=sent \(250 2\.6\.0 dsn: 1 event\)/,
      30_000,
      since,
    );
    const [e, ...more] = await rx
      .waitFor(() => ofRcpt(rx, "out_of_band", "nouser@remote.test").length > 0, 15_000)
      .then(() => ofRcpt(rx, "out_of_band", "nouser@remote.test"));
    expect(more).toEqual([]);
    expect(e).toMatchObject({
      type: "out_of_band",
      rcpt_to: "nouser@remote.test",
      message_id: original.messageId,
      queue_id: original.queueId,
      mail_from: SENDER,
      host: HOST,
      dsn: "5.1.1",
      bounce_class: "unknown_user",
    });
    expect(String(field(e!, "response"))).toContain("unknown user");
    // A's log says "delivered" (to B): no bounce event from the log, so nothing is counted twice.
    expect(ofRcpt(rx, "bounce", "nouser@remote.test")).toEqual([]);
    expect(storedOutOfBand(app, "nouser@remote.test")).toBe(1);
  }, 90_000);

  test("the store refusing writes: hookd answers 451, Postfix defers the DSN and redelivers it later: exactly one event", async () => {
    const { a, b, app, rx } = need();
    await b.postconf({ defer_transports: "local" });
    const original = await sendToB("nouser2@remote.test", "feedback e2e two");
    // Another connection holds the write lock longer than hookd's busy_timeout (5 s).
    const holder = new Database(app.config.storage.path);
    const since = a.log.mark();
    let deferred: string;
    holder.run("BEGIN IMMEDIATE");
    try {
      await releaseB();
      deferred = await a.waitForLog(
        /: to=<sender@bounces\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+,.* status=deferred/,
        40_000,
        since,
      );
    } finally {
      holder.run("ROLLBACK");
      holder.close();
    }
    expect(deferred).toContain("451 4.3.0 cannot store the report now, try again later");
    expect(storedOutOfBand(app, "nouser2@remote.test")).toBe(0);
    // Nothing lost: the DSN waits in A's queue. The MTA's retry (forced now) is stored once.
    const retry = a.log.mark();
    await a.flushQueue();
    await a.waitForLog(
      /: to=<sender@bounces\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+,.* status=sent \(250 2\.6\.0 dsn: 1 event\)/,
      30_000,
      retry,
    );
    await rx.waitFor(() => ofRcpt(rx, "out_of_band", "nouser2@remote.test").length > 0, 15_000);
    await eventually(async () => {
      const st = ((await (await app.api("GET", "/status")).json()) as { results: { webhooks: { queue_depth: number }[] } }).results;
      return st.webhooks.every((w) => w.queue_depth === 0);
    });
    expect(ofRcpt(rx, "out_of_band", "nouser2@remote.test").map((e) => [field(e, "queue_id"), field(e, "message_id")])).toEqual([
      [original.queueId, original.messageId],
    ]);
    expect(storedOutOfBand(app, "nouser2@remote.test")).toBe(1);
    const status = (
      (await (await app.api("GET", "/status")).json()) as {
        results: { feedback: { commit_failures: number; matched: { message_id: number } } };
      }
    ).results.feedback;
    expect(status.commit_failures).toBeGreaterThanOrEqual(1);
  }, 120_000);

  test("a DSN written by our own Postfix (local_mtas) is counted, not an event: its bounce comes from the log", async () => {
    const { a, app, rx } = need();
    const since = a.log.mark();
    // A bounces this one itself (local.test: no such user) and sends its DSN to the sender: to hookd.
    const sent = await a.sendMail({ from: SENDER, to: ["nobody-here@local.test"], subject: "feedback e2e own" });
    await a.waitForLog(new RegExp(`${sent.queueId}: to=<nobody-here@local\\.test>,.* status=bounced`), 20_000, since);
    await a.waitForLog(
      /: to=<sender@bounces\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+,.* status=sent \(250 2\.6\.0 dsn: 0 events\)/,
      30_000,
      since,
    );
    await rx.waitFor(() => ofRcpt(rx, "bounce", "nobody-here@local.test").length === 1, 15_000);
    expect(storedOutOfBand(app, "nobody-here@local.test")).toBe(0);
    const status = ((await (await app.api("GET", "/status")).json()) as { results: { feedback: { own_dsns: number } } }).results.feedback;
    expect(status.own_dsns).toBe(1);
  }, 90_000);

  test("the same through a Postfix pipe transport: `hookd feedback` beside the running hookd (the README's master.cf entry)", async () => {
    const { a, b, app, rx } = need();
    // pipe(8) never runs a command as root: the store's files are made writable for nobody.
    const dir = dirname(app.config.storage.path);
    chmodSync(dir, 0o777);
    for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o666);
    const toml = join(dir, "pipe.toml");
    writeFileSync(toml, `[storage]\npath = ${JSON.stringify(app.config.storage.path)}\n[feedback]\nlocal_mtas = ["mx.hookd.test"]\n`);
    chmodSync(toml, 0o644);
    appendFileSync(
      join(a.configDir, "master.cf"),
      `hookd-feedback unix - n n - - pipe\n  flags= user=nobody null_sender= argv=${BUN} ${MAIN_TS} feedback --config ${toml} -- \${sender} \${recipient}\n`,
    );
    await a.postconf({ "hookd-feedback_destination_recipient_limit": "1" });
    await route(a, ["bounces.test hookd-feedback:"]);
    await b.postconf({ defer_transports: "local" });
    const original = await sendToB("nouser3@remote.test", "feedback e2e pipe");
    const since = a.log.mark();
    await releaseB();
    const line = await a.waitForLog(/: to=<sender@bounces\.test>, relay=hookd-feedback,.* status=(sent|deferred|bounced)/, 60_000, since);
    expect(line).toContain("status=sent");
    await rx.waitFor(() => ofRcpt(rx, "out_of_band", "nouser3@remote.test").length > 0, 15_000);
    expect(
      ofRcpt(rx, "out_of_band", "nouser3@remote.test").map((e) => [field(e, "queue_id"), field(e, "message_id"), field(e, "host")]),
    ).toEqual([[original.queueId, original.messageId, HOST]]);
  }, 120_000);
});
