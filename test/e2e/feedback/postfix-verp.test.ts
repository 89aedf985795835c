// Feedback tied to its message by the addresses hookd's milter puts into tracked mail, end to end
// with two REAL Postfix instances on loopback and hookd in-process (the setup: two-postfix.ts):
//
//   A "mx.hookd.test" runs hookd's milter (smtpd_milters and non_smtpd_milters, accept on any
//     milter failure) with [feedback] verp = "bounces.test" and [milter] track = "header": a
//     newsletter marked X-Hookd-Track leaves A with the envelope sender bounces+<token>@bounces.test
//     (CHGFROM) and a List-Unsubscribe that offers <mailto:unsubscribe+<token>@bounces.test>.
//     A routes remote.test to B, sink.test to its SMTP sink, bounces.test to hookd's LMTP.
//   B "mx2.remote.test" accepts any local part at RCPT, then local(8) fails: its DSN goes to the
//     VERP sender, routed back to A. B drops the original's Message-ID and A's Received header
//     on arrival (header_checks; B's cleanup gives the message a Message-ID of its own), so the
//     DSN's returned message carries neither the original's Message-ID nor A's queue id:
//     matching by Message-ID or queue id has nothing to go on, only the token names the message.
//
// 1. B's DSN → one out_of_band event with the original's rcpt_to, message_id, queue_id, sender
//    and campaign, matched via "verp" (the status counters say so).
// 2. A plain mail to the List-Unsubscribe mailto address → one list_unsubscribe event naming the
//    original; the same mail again gives the same event id, stored once.
// 3. A's own bounce (B refuses a recipient at RCPT with 550) also goes to the VERP sender and
//    back to hookd: counted as our own DSN (A is in local_mtas), no out_of_band; the log's
//    bounce event is the one event.
import { describe, expect, test } from "bun:test";
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, newMessageId } from "../mta/common.ts";
import { submitSmtp } from "../mta/smtp-client.ts";
import { BASE, newsletter } from "../milter/hookd-mail.ts";
import { BOUNCE_DOMAIN, HOST, literal, field, type FeedbackCounters, useFeedbackRig } from "./two-postfix.ts";

const SHOP = "news@sender.hookd.test";
const TRACK = ["X-Hookd-Track: opens, clicks, unsubscribe", "X-Hookd-Campaign: verp-e2e", "X-Hookd-Tags: eu"];
/** What B's header_checks drop from the originals: their Message-IDs carry this tag. */
const ORIGINAL_TAG = "verp-orig";

const need = useFeedbackRig(
  () => {
    const milterPort = freePort();
    return {
      a: [
        "milter_protocol = 6",
        "milter_default_action = accept",
        `smtpd_milters = inet:127.0.0.1:${milterPort}`,
        "non_smtpd_milters = $smtpd_milters",
      ],
      hookd: {
        milter: { listen: `127.0.0.1:${milterPort}`, track: "header" },
        tracking: { base_url: BASE },
        feedback: { verp: BOUNCE_DOMAIN },
      },
    };
  },
  async ({ b }) => {
    // regexp tables match a folded header as one string, "." across its line breaks.
    writeFileSync(
      join(b.configDir, "header_checks"),
      [`/^Message-ID:.*${ORIGINAL_TAG}/ IGNORE`, "/^Received:.*by mx\\.hookd\\.test/ IGNORE", ""].join("\n"),
    );
    // One recipient B refuses at RCPT, so that A bounces it itself (test 3).
    appendFileSync(join(b.configDir, "recipient_access"), "refused@remote.test 550 5.1.1 no such user\n");
    await b.postconf({ header_checks: `regexp:${join(b.configDir, "header_checks")}` });
  },
);

const bare = (messageId: string) => messageId.replace(/^<|>$/g, "");

/**
 * Submits a marked newsletter to A over SMTP (the milter tracks it) and resolves with its queue
 * id, Message-ID and the envelope sender A's qmgr logged for it: the VERP address.
 */
async function sendTracked(rcpt: string) {
  const { a } = need();
  const messageId = newMessageId(ORIGINAL_TAG);
  const since = a.log.mark();
  const r = await submitSmtp({
    port: a.smtpPort,
    from: SHOP,
    to: [rcpt],
    message: newsletter({ messageId, to: rcpt, headers: TRACK }).raw,
  });
  expect(r.data?.code).toBe(250);
  const queueId = /queued as ([0-9A-Za-z]+)/.exec(r.data!.text)![1]!;
  const from = await a.waitForLog(new RegExp(`: ${queueId}: from=<([^>]*)>, size=`), 20_000, since);
  const verp = /from=<([^>]*)>/.exec(from)![1]!;
  return { queueId, messageId: bare(messageId), verp, since };
}

const delta = (after: FeedbackCounters, before: FeedbackCounters) => ({
  verp: after.matched.verp - before.matched.verp,
  unsubscribe_token: after.matched.unsubscribe_token - before.matched.unsubscribe_token,
  message_id: after.matched.message_id - before.matched.message_id,
  queue_id: after.matched.queue_id - before.matched.queue_id,
  none: after.matched.none - before.matched.none,
  own_dsns: after.own_dsns - before.own_dsns,
  events: after.events - before.events,
});

/** A header's unfolded value in the header block of `data`. */
const header = (data: string, name: string) =>
  new RegExp(`^${name}: (.*(?:\\r\\n[ \\t].*)*)`, "im").exec(data.split("\r\n\r\n")[0]!)?.[1]?.replace(/\r\n[ \t]+/g, " ");

describe("VERP: feedback tied to its message by the token in the address hookd's milter set", () => {
  test("B's DSN to bounces+<token>@… becomes one out_of_band event naming the original, matched by the token alone", async () => {
    const rig = need();
    const { a, b } = rig;
    const before = await rig.feedback();
    const rcpt = "nouser@remote.test";
    const original = await sendTracked(rcpt);
    // The milter changed the envelope sender: A sends (and B bounces) with the VERP address.
    expect(original.verp).toMatch(/^bounces\+[a-z2-7]{20,54}@bounces\.test$/);
    const sent = await a.waitForLog(
      new RegExp(`${original.queueId}: to=<${literal(rcpt)}>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${b.smtpPort},.* status=sent`),
      20_000,
      original.since,
    );
    // B stored the original without its Message-ID (header_checks): the DSN cannot return it.
    const queueIdAtB = /queued as ([0-9A-Za-z]+)/.exec(sent)![1]!;
    const atB = await b.waitForLog(new RegExp(`: ${queueIdAtB}: message-id=`), 20_000);
    expect(atB).toMatch(/message-id=<[0-9A-F.]+@mx2\.remote\.test>$/);
    // The DSN reached hookd addressed to the VERP sender; 250 only after the commit.
    await rig.lmtpDelivered(original.verp, "dsn: 1 event", original.since);
    await rig.rx.waitFor(() => rig.ofRcpt("out_of_band", rcpt).length > 0, 15_000);
    await rig.drained();
    const [e, ...more] = rig.ofRcpt("out_of_band", rcpt);
    expect(more).toEqual([]);
    expect(e).toMatchObject({
      type: "out_of_band",
      rcpt_to: rcpt,
      message_id: original.messageId,
      queue_id: original.queueId,
      // The application's sender, as the milter saw it before it set the VERP address.
      mail_from: SHOP,
      host: HOST,
      campaign_id: "verp-e2e",
      tags: ["eu"],
      dsn: "5.1.1",
      bounce_class: "unknown_user",
    });
    expect(String(field(e!, "response"))).toContain("unknown user");
    expect(rig.stored("out_of_band", rcpt)).toBe(1);
    expect(delta(await rig.feedback(), before)).toEqual({
      verp: 1,
      unsubscribe_token: 0,
      message_id: 0,
      queue_id: 0,
      none: 0,
      own_dsns: 0,
      events: 1,
    });
  }, 90_000);

  test("mail to the List-Unsubscribe mailto address becomes one list_unsubscribe event; the same mail again, none more", async () => {
    const rig = need();
    const { a } = rig;
    const rcpt = "ok-unsub@sink.test";
    const original = await sendTracked(rcpt);
    await a.sink.waitFor((ms) => ms.some((m) => m.messageId === `<${original.messageId}>`), 20_000);
    const tracked = a.sink.messages.find((m) => m.messageId === `<${original.messageId}>`)!;
    expect(tracked.mailFrom).toBe(original.verp);
    // hookd's one-click URL first, then its mailto address at the VERP domain.
    const uris = [...(header(tracked.data, "List-Unsubscribe") ?? "").matchAll(/<([^>]+)>/g)].map((m) => m[1]!);
    expect(uris.length).toBe(2);
    expect(uris[0]).toStartWith(`${BASE}/u/`);
    const address = /^mailto:(unsubscribe\+[a-z2-7]+@bounces\.test)$/.exec(uris[1]!)?.[1];
    expect(address).toBeDefined();

    // What a recipient's mail client sends for "unsubscribe": a plain message to that address.
    const before = await rig.feedback();
    const request = [
      `From: <${rcpt}>`,
      `To: <${address}>`,
      "Subject: unsubscribe",
      `Date: ${new Date().toUTCString().replace("GMT", "+0000")}`,
      `Message-ID: ${newMessageId("unsub-request")}`,
      "Content-Type: text/plain; charset=us-ascii",
      "",
      "unsubscribe",
      "",
    ].join("\r\n");
    const send = async () => {
      const since = a.log.mark();
      const r = await submitSmtp({ port: a.smtpPort, from: rcpt, to: [address!], message: request });
      expect(r.data?.code).toBe(250);
      await rig.lmtpDelivered(address!, "unsubscribe: 1 event", since);
    };
    await send();
    await rig.rx.waitFor(() => rig.ofRcpt("list_unsubscribe", rcpt).length > 0, 15_000);
    const [e] = rig.ofRcpt("list_unsubscribe", rcpt);
    expect(e).toMatchObject({
      type: "list_unsubscribe",
      rcpt_to: rcpt,
      message_id: original.messageId,
      queue_id: original.queueId,
      host: HOST,
      campaign_id: "verp-e2e",
    });
    // Sent again (a client's resend, an MTA's retry): the same event id, so the store keeps one.
    await send();
    expect(rig.stored("list_unsubscribe", rcpt)).toBe(1);
    await rig.drained();
    expect(rig.ofRcpt("list_unsubscribe", rcpt).map((x) => x.event_id)).toEqual([e!.event_id]);
    expect(delta(await rig.feedback(), before)).toMatchObject({ unsubscribe_token: 2, verp: 0, none: 0 });
  }, 90_000);

  test("A's own bounce (550 at RCPT) goes to the VERP sender too and comes back: counted as our DSN, no out_of_band", async () => {
    const rig = need();
    const { a } = rig;
    const before = await rig.feedback();
    const rcpt = "refused@remote.test";
    const original = await sendTracked(rcpt);
    const bounced = await a.waitForLog(new RegExp(`${original.queueId}: to=<${literal(rcpt)}>, .* status=bounced`), 20_000, original.since);
    expect(bounced).toContain("550 5.1.1");
    // A's bounce daemon writes the DSN to the envelope sender: the VERP address, delivered to hookd.
    await rig.lmtpDelivered(original.verp, "dsn: 0 events", original.since);
    // The one event is the log's bounce.
    await rig.rx.waitFor(() => rig.ofRcpt("bounce", rcpt).length === 1, 15_000);
    expect(rig.stored("out_of_band", rcpt)).toBe(0);
    await rig.drained();
    expect(rig.ofRcpt("bounce", rcpt).map((e) => [field(e, "queue_id"), field(e, "dsn")])).toEqual([[original.queueId, "5.1.1"]]);
    expect(rig.ofRcpt("out_of_band", rcpt)).toEqual([]);
    expect(delta(await rig.feedback(), before)).toMatchObject({ own_dsns: 1, events: 0, verp: 1 });
  }, 90_000);
});
