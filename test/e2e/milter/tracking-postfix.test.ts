// Tracking in the mail path with a REAL Postfix (test/e2e/mta/postfix.ts: a private instance on
// 127.0.0.1) and hookd running for real (a process: its milter in smtpd_milters, its tracking
// listener, the instance's log as a [[sources]] entry, a webhook receiver). A marked newsletter
// reaches the SMTP sink tracked — links, pixel, List-Unsubscribe, control headers gone, every
// other MIME part byte for byte — and its pixel and a link give open and click events that name
// the message as the delivery event from Postfix's log does. Unmarked and text-only mail
// arrives byte for byte. Faults: malformed MIME, a 30 MB message, hookd killed mid-message,
// hookd not running — the mail is delivered every time, unchanged where hookd could not act.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startPostfix, type PostfixHarness } from "../mta/postfix.ts";
import { startSmtpSink, type SinkMessage, type SmtpSink } from "../mta/smtp-sink.ts";
import { submitSmtp } from "../mta/smtp-client.ts";
import { newMessageId } from "../mta/common.ts";
import {
  BASE,
  asSunk,
  mimeParts,
  newsletter,
  startHookdForMail,
  withoutReceived,
  type HookdForMail,
  type MailEvent,
} from "./hookd-mail.ts";

let pf: PostfixHarness | null = null;
let sink: SmtpSink | null = null;
let hk: HookdForMail | null = null;
let startError: unknown = null;

beforeAll(async () => {
  try {
    sink = await startSmtpSink({ maxSize: 60_000_000 });
    pf = await startPostfix({ sink, mainCf: ["milter_protocol = 6", "milter_default_action = accept", "message_size_limit = 60000000"] });
    hk = await startHookdForMail({ logPath: pf.logPath, format: "postfix", milter: "127.0.0.1:0" });
    // hookd first in the list: what it changes is what a signing milter after it signs.
    await pf.postconf({ smtpd_milters: `inet:${hk.milter}`, non_smtpd_milters: "$smtpd_milters" });
  } catch (err) {
    startError = err;
  }
}, 60_000);

afterAll(async () => {
  await hk?.stop();
  await pf?.stop();
  await sink?.stop();
}, 30_000);

function need(): { pf: PostfixHarness; hk: HookdForMail; sink: SmtpSink } {
  if (startError) throw startError;
  if (!pf || !hk || !sink) throw new Error("postfix + hookd did not start");
  return { pf, hk, sink };
}

async function send(
  to: string,
  raw: string,
  o: { beforeData?: () => Promise<void>; timeoutMs?: number } = {},
): Promise<{ queueId: string; sunk: SinkMessage }> {
  const { pf, sink } = need();
  const messageId = /^Message-ID: (.*)$/m.exec(raw)![1]!.trim();
  const r = await submitSmtp({
    port: pf.smtpPort,
    from: "news@sender.hookd.test",
    to: [to],
    message: raw,
    timeoutMs: o.timeoutMs ?? 20_000,
    beforeData: o.beforeData,
  });
  expect(r.data?.code).toBe(250);
  const queueId = /queued as ([0-9A-Za-z]+)/.exec(r.data!.text)![1]!;
  await sink.waitFor((ms) => ms.some((m) => m.messageId === messageId), o.timeoutMs ?? 20_000);
  return { queueId, sunk: sink.messages.find((m) => m.messageId === messageId)! };
}

const header = (data: string, name: string) =>
  new RegExp(`^${name}: (.*(?:\\r\\n[ \\t].*)*)`, "im").exec(data.split("\r\n\r\n")[0]!)?.[1]?.replace(/\r\n[ \t]+/g, " ");
const ofMessage = (events: MailEvent[], queueId: string, type: string) => events.filter((e) => e.type === type && e.queue_id === queueId);
const decodeQp = (s: string) => s.replace(/=\r\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));

describe("tracking with hookd's milter in a real Postfix", () => {
  test("a marked newsletter arrives tracked; its pixel and a link give events that name it as its delivery event does", async () => {
    const { hk } = need();
    const messageId = newMessageId("track-pf");
    const sent = newsletter({
      messageId,
      to: "ok-track@sink.test",
      headers: ["X-Hookd-Track: opens, clicks, unsubscribe", "X-Hookd-Campaign: spring-sale", "X-Hookd-Tags: eu"],
    });
    const { queueId, sunk } = await send("ok-track@sink.test", sent.raw);
    const data = sunk.data;

    // Control headers gone; List-Unsubscribe + List-Unsubscribe-Post added.
    expect(data).not.toMatch(/^X-Hookd-/im);
    const unsubscribe = /^<(https:\/\/t\.hookd\.test\/u\/[A-Za-z0-9_-]+)>$/.exec(header(data, "List-Unsubscribe") ?? "")?.[1];
    expect(unsubscribe).toBeDefined();
    expect(header(data, "List-Unsubscribe-Post")).toBe("List-Unsubscribe=One-Click");

    // Every part but the HTML one byte for byte (headers and bodies); the HTML's links and pixel tracked.
    const before = await mimeParts(Buffer.from(sent.raw));
    const after = await mimeParts(Buffer.from(data, "latin1"));
    expect(after.map((p) => p.contentType)).toEqual(["text/plain", "text/html", "image/png", "application/pdf"]);
    for (const i of [0, 2, 3])
      expect([i, after[i]!.header.equals(before[i]!.header), after[i]!.body.equals(before[i]!.body)]).toEqual([i, true, true]);
    expect(Buffer.from(after[3]!.body.toString(), "base64").equals(sent.pdf)).toBe(true);
    const html = decodeQp(after[1]!.body.toString("latin1"));
    const clicks = [...html.matchAll(/<a href="([^"]+)"/g)].map((m) => m[1]!);
    expect(clicks.length).toBe(2);
    expect(clicks.every((c) => c.startsWith(`${BASE}/c/`))).toBe(true);
    const pixel = /<img src="(https:\/\/t\.hookd\.test\/o\/[^"]+)"/.exec(html)?.[1];
    expect(pixel).toBeDefined();
    expect(html).toContain('<img src="cid:logo@hookd">');

    expect((await hk.hit(pixel!)).status).toBe(200);
    const click = await hk.hit(clicks[0]!);
    expect([click.status, click.headers.get("location")]).toEqual([302, "https://shop.example/sale?utm=mail&x=1"]);

    const events = await hk.waitForEvents(
      (es) => ["delivery", "open", "click"].every((t) => ofMessage(es, queueId, t).length === 1),
      20_000,
    );
    const [delivery, open, clicked] = ["delivery", "open", "click"].map((t) => ofMessage(events, queueId, t)[0]!);
    const names = (e: MailEvent) => ({ queue_id: e.queue_id, message_id: e.message_id, rcpt_to: e.rcpt_to, host: e.host });
    expect(names(delivery!)).toEqual({ queue_id: queueId, message_id: messageId.slice(1, -1), rcpt_to: "ok-track@sink.test", host: "mx1" });
    expect(names(open!)).toEqual(names(delivery!));
    expect(names(clicked!)).toEqual(names(delivery!));
    expect(open).toMatchObject({ campaign_id: "spring-sale", tags: ["eu"] });
    await hk.metricReaches("hookd_milter_messages_total", 'outcome="tracked",reason="rewritten"', 1);
  }, 60_000);

  test("an unmarked HTML message and a text-only message arrive byte for byte", async () => {
    const unmarked = newsletter({ messageId: newMessageId("plain-pf"), to: "ok-plain@sink.test" });
    const { sunk: a } = await send("ok-plain@sink.test", unmarked.raw);
    expect(withoutReceived(a.data)).toBe(asSunk(unmarked.raw));
    const text = [
      "From: <news@sender.hookd.test>",
      "To: <ok-text@sink.test>",
      "Subject: text",
      "Date: Mon, 07 Dec 2026 10:00:00 +0000",
      `Message-ID: ${newMessageId("text-pf")}`,
      "X-Hookd-Track: opens, clicks",
      "Content-Type: text/plain; charset=utf-8",
      "",
      "Hello café https://shop.example/",
      "",
    ].join("\r\n");
    // Marked, but opens and clicks need HTML and unsubscribe was not asked for: only the control header goes.
    const { sunk: b } = await send("ok-text@sink.test", text);
    expect(withoutReceived(b.data)).toBe(asSunk(text.replace("X-Hookd-Track: opens, clicks\r\n", "")));
    const bare = text.replace("X-Hookd-Track: opens, clicks\r\n", "").replace(/Message-ID: .*/, `Message-ID: ${newMessageId("text2-pf")}`);
    const { sunk: c } = await send("ok-text@sink.test", bare);
    expect(withoutReceived(c.data)).toBe(asSunk(bare));
  }, 60_000);

  describe("faults: the mail is delivered every time", () => {
    test("malformed MIME (a multipart never closed): delivered byte for byte, control header included, counted", async () => {
      const { hk } = need();
      const raw = [
        "From: <news@sender.hookd.test>",
        "To: <ok-bad@sink.test>",
        "Subject: bad",
        "Date: Mon, 07 Dec 2026 10:00:00 +0000",
        `Message-ID: ${newMessageId("bad-pf")}`,
        "X-Hookd-Track: all",
        "MIME-Version: 1.0",
        'Content-Type: multipart/alternative; boundary="b1"',
        "",
        "--b1",
        "Content-Type: text/html",
        "",
        '<a href="https://shop.example/">x</a>',
        "",
      ].join("\r\n");
      const { sunk } = await send("ok-bad@sink.test", raw);
      expect(withoutReceived(sunk.data)).toBe(asSunk(raw));
      await hk.metricReaches("hookd_milter_messages_total", 'outcome="unchanged",reason="malformed_mime"', 1);
    }, 30_000);

    test("a 30 MB message (over max_message_size): delivered byte for byte, counted", async () => {
      const { hk } = need();
      const line = "<p>" + "x".repeat(90) + '<a href="https://shop.example/">y</a></p>\r\n';
      const body = line.repeat(Math.ceil(30_000_000 / line.length));
      const raw = [
        "From: <news@sender.hookd.test>",
        "To: <ok-big@sink.test>",
        "Subject: big",
        "Date: Mon, 07 Dec 2026 10:00:00 +0000",
        `Message-ID: ${newMessageId("big-pf")}`,
        "X-Hookd-Track: all",
        "MIME-Version: 1.0",
        "Content-Type: text/html",
        "",
        body,
      ].join("\r\n");
      const { sunk } = await send("ok-big@sink.test", raw, { timeoutMs: 120_000 });
      expect(withoutReceived(sunk.data) === raw).toBe(true);
      await hk.metricReaches("hookd_milter_messages_total", 'outcome="unchanged",reason="too_large"', 1);
    }, 180_000);

    test("hookd killed (SIGKILL) while Postfix waits for its answer: delivered unchanged (milter_default_action = accept)", async () => {
      const { pf, hk } = need();
      const since = pf.log.mark();
      const raw = newsletter({
        messageId: newMessageId("kill-pf"),
        to: "ok-kill@sink.test",
        headers: ["X-Hookd-Track: opens, clicks"],
      }).raw;
      const pid = hk.hookd.proc.pid;
      // smtpd has connected and negotiated with the milter by now (session start); stopped, hookd
      // reads nothing more, so Postfix hands it the message and waits for the end-of-message
      // answer. Then hookd dies.
      const beforeData = async () => {
        process.kill(pid, "SIGSTOP");
        setTimeout(() => process.kill(pid, "SIGKILL"), 1_500);
      };
      const { sunk } = await send("ok-kill@sink.test", raw, { beforeData });
      expect(withoutReceived(sunk.data)).toBe(asSunk(raw));
      await pf.waitForLog(
        /warning: milter inet:127\.0\.0\.1:\d+: (can't read SMFIC_BODYEOB reply packet header|read error)/,
        10_000,
        since,
      );
      expect(await hk.hookd.exited).not.toBe(0);
    }, 60_000);

    test("hookd not running: delivered unchanged; started again, it tracks the next message", async () => {
      const { pf, hk } = need();
      const since = pf.log.mark();
      const raw = newsletter({
        messageId: newMessageId("down-pf"),
        to: "ok-down@sink.test",
        headers: ["X-Hookd-Track: opens, clicks"],
      }).raw;
      const { sunk } = await send("ok-down@sink.test", raw);
      expect(withoutReceived(sunk.data)).toBe(asSunk(raw));
      await pf.waitForLog(/connect to Milter service inet:127\.0\.0\.1:\d+: Connection refused/, 10_000, since);

      await hk.restart();
      const again = newsletter({ messageId: newMessageId("back-pf"), to: "ok-back@sink.test", headers: ["X-Hookd-Track: opens"] });
      const { sunk: tracked } = await send("ok-back@sink.test", again.raw);
      expect(tracked.data).not.toContain("X-Hookd-Track");
      expect(tracked.data.replace(/=\r\n/g, "")).toContain(`${BASE}/o/`); // quoted-printable: soft breaks out
    }, 60_000);
  });
});
