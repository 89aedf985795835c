// hookd's milter protocol end to end with a REAL Postfix (test/e2e/mta/postfix.ts: a private
// instance on 127.0.0.1, nothing leaves the machine): smtpd_milters and non_smtpd_milters
// point at a milter server whose handler removes X-Hookd-Track, adds a header and replaces
// the body. What reaches the SMTP sink must be the rewritten message, and the queue id the
// handler saw must be the one in Postfix's log; the envelope sender is changed (VERP). With the milter gone, mail still flows
// unchanged (milter_default_action = accept).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startPostfix, type PostfixHarness } from "../mta/postfix.ts";
import { submitSmtp } from "../mta/smtp-client.ts";
import { newMessageId, run } from "../mta/common.ts";
import { POSTFIX } from "../mta/postfix.ts";
import { createMilterServer, type MilterServer } from "../../../src/milter/server.ts";
import type { MilterMessage } from "../../../src/milter/message.ts";
import type { MilterEdits } from "../../../src/milter/edits.ts";

let pf: PostfixHarness | null = null;
let milter: MilterServer | null = null;
let startError: unknown = null;
const seen = new Map<string, MilterMessage>(); // by Message-ID
let hanging: () => void = () => {};
const errors: { queueId: string | null; err: Error }[] = [];

const NEW_BODY = "<p>rewritten by hookd</p>\r\n";

/** n lines of 100 bytes (within SMTP's 998-byte line limit, so Postfix relays them as they are). */
const bigBody = (lines: number) => ("B".repeat(98) + "\r\n").repeat(lines);

function handler(m: MilterMessage): Promise<MilterEdits | null> | MilterEdits | null {
  const id = m.headers.find((h) => h.name.toLowerCase() === "message-id")?.value.trim() ?? "";
  seen.set(id, m);
  if (m.headers.some((h) => h.name === "X-Test-Hang")) {
    hanging();
    return new Promise<never>(() => {}); // never answers
  }
  if (!m.headers.some((h) => h.name === "X-Hookd-Track")) return null;
  const big = m.headers.find((h) => h.name === "X-Test-Big-Body");
  const verp = m.headers.find((h) => h.name === "X-Test-Verp");
  return {
    ...(verp ? { mailFrom: verp.value.trim() } : {}),
    headers: [
      { op: "delete", name: "X-Hookd-Track", index: 1 },
      { op: "add", name: "X-Hookd-Tracked", value: "yes" },
    ],
    body: Buffer.from(big ? bigBody(Number(big.value.trim())) : NEW_BODY),
  };
}

beforeAll(async () => {
  try {
    milter = createMilterServer({ listen: "127.0.0.1:0", handler, onError: (queueId, err) => errors.push({ queueId, err }) });
    await milter.start();
    const port = milter.address!.kind === "tcp" ? milter.address!.port : 0;
    pf = await startPostfix({
      mainCf: [
        `smtpd_milters = inet:127.0.0.1:${port}`,
        `non_smtpd_milters = inet:127.0.0.1:${port}`,
        "milter_protocol = 6",
        "milter_default_action = accept",
      ],
    });
  } catch (err) {
    startError = err;
  }
}, 45_000);

afterAll(async () => {
  await pf?.stop();
  await milter?.stop({ deadlineMs: 1_000 });
}, 30_000);

function harness(): PostfixHarness {
  if (startError) throw startError;
  if (!pf) throw new Error("postfix harness did not start");
  return pf;
}

/** A message with CRLF line ends, a folded header, a dot-stuffed line and 8-bit text. */
function rawMessage(messageId: string, extra: string[] = [], body = "<p>original</p>\r\n.leading dot\r\ncafé\r\n"): string {
  return (
    [
      "From: App <app@sender.test>",
      "To: <ok-milter@sink.test>",
      "Subject: milter e2e",
      "\tfolded subject line",
      "Date: Mon, 07 Dec 2026 10:00:00 +0000",
      `Message-ID: ${messageId}`,
      ...extra,
      "MIME-Version: 1.0",
      "Content-Type: text/html; charset=utf-8",
      "Content-Transfer-Encoding: 8bit",
      "",
      "",
    ].join("\r\n") + body
  );
}

/** The sink's copy without the Received: header Postfix puts on top (milters never see it). */
function withoutReceived(data: string): string {
  return data.replace(/^Received: .*\r\n(?:[ \t].*\r\n)*/, "");
}

/** The sink keeps what it received as latin1 text (one char per byte). */
const asSunk = (text: string) => Buffer.from(text, "utf8").toString("latin1");

async function viaSmtp(messageId: string, message: string) {
  const h = harness();
  const r = await submitSmtp({ port: h.smtpPort, from: "app@sender.test", to: ["ok-milter@sink.test"], message });
  expect(r.data?.code).toBe(250);
  const queueId = /queued as ([0-9A-Za-z]+)/.exec(r.data!.text)?.[1];
  const [delivered] = await h.sink.waitFor((ms) => ms.some((m) => m.messageId === messageId), 15_000);
  return { queueId, sunk: h.sink.messages.find((m) => m.messageId === messageId)!, delivered };
}

async function queueIdInLog(messageId: string): Promise<string> {
  const line = await harness().waitForLog(`: message-id=${messageId}`, 15_000);
  return /postfix\/cleanup\[\d+\]: ([0-9A-Za-z]+): message-id=/.exec(line)![1]!;
}

describe("hookd's milter in a real Postfix", () => {
  test("SMTP: the sink gets the rewritten message and sender; the handler saw the message exactly, with Postfix's queue id", async () => {
    const messageId = newMessageId("milter-smtp");
    const sent = rawMessage(messageId, ["X-Hookd-Track: opens, clicks", "X-Test-Verp: bounces+tok1@bounces.hookd.test"]);
    const { queueId, sunk } = await viaSmtp(messageId, sent);
    const m = seen.get(messageId)!;
    expect(m).toBeDefined();

    // What the handler saw is what the client sent, byte for byte (Postfix's Received: aside;
    // the client dot-stuffs ".leading dot" and Postfix unstuffs it).
    expect(Buffer.concat([m.header, m.body]).toString("utf8")).toBe(sent);
    expect(m.mailFrom).toBe("app@sender.test");
    expect(m.rcptTo).toEqual(["ok-milter@sink.test"]);

    // The queue id: the handler's = the SMTP reply's = Postfix's log line for this message.
    const logged = await queueIdInLog(messageId);
    expect(m.queueId).toBe(logged);
    expect(queueId).toBe(logged);

    // Delivered rewritten: X-Hookd-Track gone, X-Hookd-Tracked added last, the body replaced.
    const got = withoutReceived(sunk.data);
    const expected = asSunk(sent)
      .replace("X-Hookd-Track: opens, clicks\r\n", "")
      .replace(/\r\n\r\n[\s\S]*$/, "\r\nX-Hookd-Tracked: yes\r\n\r\n" + NEW_BODY);
    expect(got).toBe(expected);
    await harness().waitForLog(new RegExp(`${logged}: to=<ok-milter@sink.test>.*status=sent`), 15_000);

    // The envelope sender changed by CHGFROM, in the relay's MAIL FROM and in Postfix's log.
    expect(sunk.mailFrom).toBe("bounces+tok1@bounces.hookd.test");
    await harness().waitForLog(`${logged}: from=<bounces+tok1@bounces.hookd.test>`, 15_000);
  }, 30_000);

  test("local submission (sendmail → pickup → cleanup, non_smtpd_milters): rewritten too, same queue id", async () => {
    const h = harness();
    const messageId = newMessageId("milter-local");
    const sent = rawMessage(messageId, ["X-Hookd-Track: opens"]);
    await run([POSTFIX.sendmail, "-i", "-f", "app@sender.test", "--", "ok-milter@sink.test"], {
      env: { MAIL_CONFIG: h.configDir },
      stdin: sent,
    });
    await h.sink.waitFor((ms) => ms.some((m) => m.messageId === messageId), 15_000);
    const sunk = h.sink.messages.find((m) => m.messageId === messageId)!;
    expect(sunk.data).not.toContain("X-Hookd-Track:");
    expect(sunk.data).toContain("\r\nX-Hookd-Tracked: yes\r\n");
    expect(sunk.data.endsWith("\r\n\r\n" + NEW_BODY)).toBe(true);
    expect(seen.get(messageId)!.queueId).toBe(await queueIdInLog(messageId));
  }, 30_000);

  test("a body of many chunks replaced by a larger one arrives whole", async () => {
    const messageId = newMessageId("milter-big");
    const original = ("0123456789".repeat(10) + "\r\n").repeat(2_000); // 204,000 bytes: 4 chunks in
    const lines = 3_000; // 300,000 bytes: 5 REPLBODY packets out
    const { sunk } = await viaSmtp(messageId, rawMessage(messageId, ["X-Hookd-Track: opens", `X-Test-Big-Body: ${lines}`], original));
    expect(seen.get(messageId)!.body.length).toBe(original.length);
    const body = sunk.data.slice(sunk.data.indexOf("\r\n\r\n") + 4);
    expect(body.length).toBe(300_000);
    expect(body === bigBody(lines)).toBe(true);
  }, 30_000);

  test("an unmarked message passes byte-identical", async () => {
    const messageId = newMessageId("milter-untouched");
    const sent = rawMessage(messageId);
    const { sunk } = await viaSmtp(messageId, sent);
    expect(seen.has(messageId)).toBe(true);
    expect(withoutReceived(sunk.data)).toBe(asSunk(sent));
  }, 30_000);

  test("nothing went wrong on either side", () => {
    expect(errors).toEqual([]);
    expect(
      harness()
        .log.lines()
        .filter((l) => /warning: .*milter/i.test(l)),
    ).toEqual([]);
  });

  test("the milter stopped while a message waits for its answer: the message arrives unchanged", async () => {
    const h = harness();
    const since = h.log.mark();
    const messageId = newMessageId("milter-stopped");
    const sent = rawMessage(messageId, ["X-Hookd-Track: opens", "X-Test-Hang: yes"]);
    const inHandler = new Promise<void>((r) => (hanging = r));
    const sending = viaSmtp(messageId, sent);
    await inHandler;
    await milter!.stop({ deadlineMs: 200 }); // the deadline passes: the connection is cut
    const { sunk } = await sending;
    expect(withoutReceived(sunk.data)).toBe(asSunk(sent));
    await h.waitForLog(/warning: milter inet:127\.0\.0\.1:\d+: can't read SMFIC_BODYEOB reply packet header/, 5_000, since);
  }, 30_000);

  test("with the milter not running, mail still arrives, unchanged (milter_default_action = accept)", async () => {
    const h = harness();
    const since = h.log.mark();
    const messageId = newMessageId("milter-down");
    const sent = rawMessage(messageId, ["X-Hookd-Track: opens, clicks"]);
    const { sunk } = await viaSmtp(messageId, sent);
    expect(withoutReceived(sunk.data)).toBe(asSunk(sent));
    expect(seen.has(messageId)).toBe(false);
    await h.waitForLog(/connect to Milter service inet:127\.0\.0\.1:\d+: Connection refused/, 5_000, since);
  }, 30_000);
});
