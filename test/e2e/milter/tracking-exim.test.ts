// Tracking in the mail path with a REAL Exim (test/e2e/mta/exim.ts, on 127.0.0.1): the
// README's router and transport — an smtp transport with max_rcpt = 1 and `hookd rewrite` as
// its transport_filter — in front of the harness's own, and hookd serving the tracking listener
// and tailing Exim's log. The filter runs as Exim's user (remote transports always do), so that
// user is given the store, as the README says. A marked newsletter arrives tracked per
// recipient; its pixel and a link give events naming the message as Exim's delivery line does.
// Unmarked and text-only mail arrives byte for byte; a store the filter cannot open, or a
// malformed message, still gets delivered, unchanged.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync } from "node:fs";
import path from "node:path";
import { startExim, type EximHarness } from "../mta/exim.ts";
import { submitSmtp } from "../mta/smtp-client.ts";
import { EXIM_USER } from "../mta/exim.ts";
import { newMessageId, passwdId } from "../mta/common.ts";
import { BUN, MAIN_TS, tempDir } from "../../helpers/hookd.ts";
import { BASE, mimeParts, newsletter, startHookdForMail, withoutReceived, type HookdForMail, type MailEvent } from "./hookd-mail.ts";

let ex: EximHarness | null = null;
let hk: HookdForMail | null = null;
let startError: unknown = null;
const dir = tempDir();
const configPath = path.join(dir, "hookd.toml");
const logFile = path.join(dir, "log", "rewrite.log");

beforeAll(async () => {
  try {
    chmodSync(dir, 0o755);
    mkdirSync(path.dirname(logFile));
    ex = await startExim({
      // README, "Tracking in the mail path": Exim.
      routers: () => [
        "hookd_tracked:",
        "  driver = manualroute",
        "  domains = sink.test",
        "  transport = hookd_smtp",
        "  route_list = * 127.0.0.1 byname",
        "  self = send",
        "  no_more",
      ],
      transports: ({ sinkPort }) => [
        "hookd_smtp:",
        "  driver = smtp",
        `  port = ${sinkPort}`,
        "  allow_localhost",
        "  hosts_avoid_tls = *",
        "  max_rcpt = 1",
        // $local_part@$domain is tainted (Exim refuses it in a command and bounces the mail);
        // $pipe_addresses is not: one address with max_rcpt = 1.
        `  transport_filter = ${BUN} ${MAIN_TS} rewrite --config ${configPath} --log ${logFile} --queue-id $message_exim_id --rcpt $pipe_addresses`,
      ],
    });
    hk = await startHookdForMail({ dir, logPath: ex.logPath, format: "exim" });
    // Exim's user runs the filter: it reads the config and writes the store.
    chmodSync(configPath, 0o644);
    const e = passwdId(EXIM_USER);
    const store = path.join(dir, "store");
    for (const d of [store, path.dirname(logFile)]) {
      chownSync(d, e.uid, e.gid);
      for (const f of readdirSync(d)) chownSync(path.join(d, f), e.uid, e.gid);
    }
  } catch (err) {
    startError = err;
  }
}, 60_000);

afterAll(async () => {
  await hk?.stop();
  await ex?.stop();
}, 30_000);

function need(): { ex: EximHarness; hk: HookdForMail } {
  if (startError) throw startError;
  if (!ex || !hk) throw new Error("exim + hookd did not start");
  return { ex, hk };
}

async function send(to: string[], raw: string) {
  const { ex } = need();
  const messageId = /^Message-ID: (.*)$/m.exec(raw)![1]!.trim();
  const r = await submitSmtp({ port: ex.smtpPort, from: "news@sender.hookd.test", to, message: raw, timeoutMs: 20_000 });
  expect(r.data?.code).toBe(250);
  const queueId = /id=(\S+)/.exec(r.data!.text)![1]!;
  await ex.sink.waitFor((ms) => ms.filter((m) => m.messageId === messageId).length === to.length, 30_000);
  return { queueId, sunk: ex.sink.messages.filter((m) => m.messageId === messageId) };
}

/** Exim's own Received: header is what the filter saw first; the test compares after it. */
const asSent = (raw: string) => Buffer.from(raw, "utf8").toString("latin1");
const decodeQp = (s: string) => s.replace(/=\r\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
const ofMessage = (events: MailEvent[], queueId: string, type: string, rcpt: string) =>
  events.filter((e) => e.type === type && e.queue_id === queueId && e.rcpt_to === rcpt);

describe("tracking with hookd rewrite as Exim's transport_filter", () => {
  test("two recipients of one marked newsletter: each gets links of its own; pixel and link events name the message as Exim's delivery lines do", async () => {
    const { hk } = need();
    const messageId = newMessageId("track-ex");
    const rcpts = ["ok-ex1@sink.test", "ok-ex2@sink.test"];
    const sent = newsletter({
      messageId,
      to: rcpts.join(">, <"),
      headers: ["X-Hookd-Track: opens, clicks, unsubscribe", "X-Hookd-Campaign: spring-ex"],
    });
    const { queueId, sunk } = await send(rcpts, sent.raw);
    const pixels: string[] = [];
    for (const rcpt of rcpts) {
      const m = sunk.find((s) => s.rcptTo[0] === rcpt)!;
      expect(m.data).not.toMatch(/^X-Hookd-/im);
      expect(m.data).toMatch(
        /^List-Unsubscribe: <https:\/\/t\.hookd\.test\/u\/[A-Za-z0-9_-]+>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n/m,
      );
      const before = await mimeParts(Buffer.from(sent.raw));
      const after = await mimeParts(Buffer.from(m.data, "latin1"));
      for (const i of [0, 2, 3])
        expect([i, after[i]!.header.equals(before[i]!.header), after[i]!.body.equals(before[i]!.body)]).toEqual([i, true, true]);
      const html = decodeQp(after[1]!.body.toString("latin1"));
      pixels.push(/<img src="(https:\/\/t\.hookd\.test\/o\/[^"]+)"/.exec(html)![1]!);
      if (rcpt === rcpts[0]) {
        const click = /<a href="([^"]+)"/.exec(html)![1]!;
        expect(click.startsWith(`${BASE}/c/`)).toBe(true);
        expect((await hk.hit(click)).status).toBe(302);
      }
    }
    expect(pixels[0]).not.toBe(pixels[1]); // per recipient
    for (const p of pixels) expect((await hk.hit(p)).status).toBe(200);

    const events = await hk.waitForEvents(
      (es) =>
        rcpts.every((r) => ofMessage(es, queueId, "delivery", r).length === 1 && ofMessage(es, queueId, "open", r).length === 1) &&
        ofMessage(es, queueId, "click", rcpts[0]!).length === 1,
      20_000,
    );
    const names = (e: MailEvent) => ({ queue_id: e.queue_id, message_id: e.message_id, rcpt_to: e.rcpt_to, host: e.host });
    for (const r of rcpts) {
      const delivery = ofMessage(events, queueId, "delivery", r)[0]!;
      expect(names(delivery)).toEqual({ queue_id: queueId, message_id: messageId.slice(1, -1), rcpt_to: r, host: "mx1" });
      expect(names(ofMessage(events, queueId, "open", r)[0]!)).toEqual(names(delivery));
      expect(ofMessage(events, queueId, "open", r)[0]).toMatchObject({ campaign_id: "spring-ex" });
    }
    expect(names(ofMessage(events, queueId, "click", rcpts[0]!)[0]!)).toEqual(names(ofMessage(events, queueId, "delivery", rcpts[0]!)[0]!));
  }, 60_000);

  test("an unmarked HTML message and a text-only one arrive byte for byte", async () => {
    const plain = newsletter({ messageId: newMessageId("plain-ex"), to: "ok-explain@sink.test" });
    const { sunk: a } = await send(["ok-explain@sink.test"], plain.raw);
    expect(withoutReceived(a[0]!.data)).toBe(asSent(plain.raw));
    const text = [
      "From: <news@sender.hookd.test>",
      "To: <ok-extext@sink.test>",
      "Subject: text",
      "Date: Mon, 07 Dec 2026 10:00:00 +0000",
      `Message-ID: ${newMessageId("text-ex")}`,
      "Content-Type: text/plain; charset=utf-8",
      "",
      "Hello café https://shop.example/",
      "",
    ].join("\r\n");
    const { sunk: b } = await send(["ok-extext@sink.test"], text);
    expect(withoutReceived(b[0]!.data)).toBe(asSent(text));
  }, 60_000);

  test("malformed MIME: delivered unchanged", async () => {
    const raw = [
      "From: <news@sender.hookd.test>",
      "To: <ok-exbad@sink.test>",
      "Subject: bad",
      "Date: Mon, 07 Dec 2026 10:00:00 +0000",
      `Message-ID: ${newMessageId("bad-ex")}`,
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
    const { queueId, sunk } = await send(["ok-exbad@sink.test"], raw);
    expect(withoutReceived(sunk[0]!.data)).toBe(asSent(raw));
    expect(existsSync(logFile) && readFileSync(logFile, "utf8")).toContain(`${queueId} hookd rewrite: malformed_mime`);
  }, 60_000);

  test("a store the filter cannot open: delivered unchanged, and Exim logs nothing worse", async () => {
    const { ex } = need();
    const store = path.join(dir, "store");
    renameSync(store, `${store}.away`);
    try {
      const raw = newsletter({
        messageId: newMessageId("nostore-ex"),
        to: "ok-exnostore@sink.test",
        headers: ["X-Hookd-Track: opens, clicks"],
      }).raw;
      const { sunk } = await send(["ok-exnostore@sink.test"], raw);
      expect(withoutReceived(sunk[0]!.data)).toBe(asSent(raw));
      expect(ex.log.lines().filter((l) => / (\*\*|==) ok-exnostore@/.test(l))).toEqual([]);
      // Why, in --log (stderr is the message's own pipe under Exim, so nothing went there).
      expect(readFileSync(logFile, "utf8")).toMatch(
        / hookd rewrite: no store at .*hookd\.db: start hookd serve with this config first; the message passed unchanged\n$/,
      );
    } finally {
      renameSync(`${store}.away`, store);
    }
  }, 60_000);
});
