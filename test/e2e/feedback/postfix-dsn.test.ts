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
// hookd. Matching by VERP token: postfix-verp.test.ts (the setup is shared: two-postfix.ts).
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { appendFileSync, chmodSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { BUN, MAIN_TS } from "../../helpers/hookd.ts";
import { A_NAME, HOST, field, route, useFeedbackRig } from "./two-postfix.ts";

const SENDER = "sender@bounces.test";

// B holds what it accepted (defer_transports = local) until the test has seen hookd ingest A's lines.
const need = useFeedbackRig(() => ({ b: ["defer_transports = local"] }));

/**
 * Sends from A to `rcpt` at B; resolves once A logged it delivered to B and hookd sent its
 * injection. (Only that: B answers from 127.0.0.1 with "queued as QID", which hookd's log
 * parser reads as a hand-off to a content filter or a second Postfix instance on this machine
 * whose story continues in the same log; B logs elsewhere. The injection carries what the
 * lookup needs: queue id, Message-ID, recipient, sender.)
 */
async function sendToB(rcpt: string, subject: string) {
  const rig = need();
  const { a, rx } = rig;
  const since = a.log.mark();
  const sent = await a.sendMail({ from: SENDER, to: [rcpt], subject });
  await a.waitForLog(
    new RegExp(`${sent.queueId}: to=<${rcpt}>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${rig.b.smtpPort},.* status=sent`),
    20_000,
    since,
  );
  // The lookup needs the original's events stored before its DSN arrives (in real life hours).
  await rx
    .waitFor(() => rig.ofRcpt("injection", rcpt).length === 1, 15_000)
    .catch((err) => {
      throw new Error(`${(err as Error).message}; events: ${JSON.stringify(rig.events())}\nA's log:\n${a.log.tail(30)}`);
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
    const rig = need();
    const { a, rx } = rig;
    const original = await sendToB("nouser@remote.test", "feedback e2e one");
    const since = a.log.mark();
    await releaseB();
    // A hands the DSN to hookd, which answers 250 only after the commit.
    await rig.lmtpDelivered(SENDER, "dsn: 1 event", since);
    const [e, ...more] = await rx
      .waitFor(() => rig.ofRcpt("out_of_band", "nouser@remote.test").length > 0, 15_000)
      .then(() => rig.ofRcpt("out_of_band", "nouser@remote.test"));
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
    expect(rig.ofRcpt("bounce", "nouser@remote.test")).toEqual([]);
    expect(rig.stored("out_of_band", "nouser@remote.test")).toBe(1);
  }, 90_000);

  test("the store refusing writes: hookd answers 451, Postfix defers the DSN and redelivers it later: exactly one event", async () => {
    const rig = need();
    const { a, b, app, rx } = rig;
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
    expect(rig.stored("out_of_band", "nouser2@remote.test")).toBe(0);
    // Nothing lost: the DSN waits in A's queue. The MTA's retry (forced now) is stored once.
    const retry = a.log.mark();
    await a.flushQueue();
    await rig.lmtpDelivered(SENDER, "dsn: 1 event", retry);
    await rx.waitFor(() => rig.ofRcpt("out_of_band", "nouser2@remote.test").length > 0, 15_000);
    await rig.drained();
    expect(rig.ofRcpt("out_of_band", "nouser2@remote.test").map((e) => [field(e, "queue_id"), field(e, "message_id")])).toEqual([
      [original.queueId, original.messageId],
    ]);
    expect(rig.stored("out_of_band", "nouser2@remote.test")).toBe(1);
    expect((await rig.feedback()).commit_failures).toBeGreaterThanOrEqual(1);
  }, 120_000);

  test("a DSN written by our own Postfix (local_mtas) is counted, not an event: its bounce comes from the log", async () => {
    const rig = need();
    const { a, rx } = rig;
    const since = a.log.mark();
    // A bounces this one itself (local.test: no such user) and sends its DSN to the sender: to hookd.
    const sent = await a.sendMail({ from: SENDER, to: ["nobody-here@local.test"], subject: "feedback e2e own" });
    await a.waitForLog(new RegExp(`${sent.queueId}: to=<nobody-here@local\\.test>,.* status=bounced`), 20_000, since);
    await rig.lmtpDelivered(SENDER, "dsn: 0 events", since);
    await rx.waitFor(() => rig.ofRcpt("bounce", "nobody-here@local.test").length === 1, 15_000);
    expect(rig.stored("out_of_band", "nobody-here@local.test")).toBe(0);
    expect((await rig.feedback()).own_dsns).toBe(1);
  }, 90_000);

  test("the same through a Postfix pipe transport: `hookd feedback` beside the running hookd (the README's master.cf entry)", async () => {
    const rig = need();
    const { a, b, app, rx } = rig;
    // pipe(8) never runs a command as root: the store's files are made writable for nobody.
    const dir = dirname(app.config.storage.path);
    chmodSync(dir, 0o777);
    for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o666);
    const toml = join(dir, "pipe.toml");
    writeFileSync(toml, `[storage]\npath = ${JSON.stringify(app.config.storage.path)}\n[feedback]\nlocal_mtas = ["${A_NAME}"]\n`);
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
    await rx.waitFor(() => rig.ofRcpt("out_of_band", "nouser3@remote.test").length > 0, 15_000);
    expect(
      rig.ofRcpt("out_of_band", "nouser3@remote.test").map((e) => [field(e, "queue_id"), field(e, "message_id"), field(e, "host")]),
    ).toEqual([[original.queueId, original.messageId, HOST]]);
  }, 120_000);
});
