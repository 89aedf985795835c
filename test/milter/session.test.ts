// A milter session driven over real TCP by a tiny MTA that speaks raw bytes as Postfix does;
// every packet the milter sends is checked against bytes written out by hand.
import { afterEach, describe, expect, test } from "bun:test";
import { createMilterServer, type MilterServer, type MilterServerOptions } from "../../src/milter/server.ts";
import type { MilterHandler } from "../../src/milter/session.ts";
import type { MilterMessage } from "../../src/milter/message.ts";
import { connectMta, type MtaClient } from "./mta-client.ts";
import {
  POSTFIX_ACTIONS,
  POSTFIX_PROTOCOL,
  be32,
  bytes,
  cstr,
  macro,
  optneg,
  packet,
  postfixConnect,
  postfixMessage,
  type Packet,
} from "./wire.ts";

let server: MilterServer | null = null;
afterEach(async () => {
  await server?.stop({ deadlineMs: 1_000 });
  server = null;
});

type Reported = { queueId: string | null; err: Error };

async function start(handler: MilterHandler, opts: Partial<MilterServerOptions> = {}) {
  const errors: Reported[] = [];
  server = createMilterServer({ listen: "127.0.0.1:0", handler, onError: (queueId, err) => errors.push({ queueId, err }), ...opts });
  await server.start();
  const port = server.address!.kind === "tcp" ? server.address!.port : 0;
  return { errors, connect: () => connectMta({ port }) };
}

// hookd's OPTNEG reply to Postfix's offer, written out (see encode.test.ts for the flags).
const REPLY_TO_POSTFIX = bytes(
  [0, 0, 0, 43],
  "O",
  [0, 0, 0, 6],
  [0, 0, 0x01, 0x53],
  [0, 0x1c, 0xc3, 0x83],
  [0, 0, 0, 2],
  "i",
  [0],
  [0, 0, 0, 3],
  "i",
  [0],
  [0, 0, 0, 4],
  "i",
  [0],
  [0, 0, 0, 5],
  "i",
  [0],
  [0, 0, 0, 6],
  "i",
  [0],
);

const raw = (p: Packet) => bytes(be32(1 + p.data.length), p.code, p.data);

async function negotiated(connect: () => Promise<MtaClient>): Promise<MtaClient> {
  const mta = await connect();
  mta.send(optneg(6, POSTFIX_ACTIONS, POSTFIX_PROTOCOL));
  expect(raw(await mta.next())).toEqual(REPLY_TO_POSTFIX);
  mta.send(postfixConnect());
  return mta;
}

const message = (queueId: string, over: Partial<Parameters<typeof postfixMessage>[0]> = {}) =>
  postfixMessage({
    queueId,
    from: "app@sender.test",
    rcpts: ["one@rcpt.test", "two@rcpt.test"],
    headers: [
      ["From", " App <app@sender.test>"],
      ["Subject", " Hello\n\tfolded"],
      ["X-Hookd-Track", " opens, clicks"],
      ["Content-Type", " text/html"],
    ],
    bodyChunks: ["<p>one</p>\r\n", "<p>two</p>\r\n", "<p>three</p>\r\n"],
    ...over,
  });

describe("a message through the milter, as Postfix sends it", () => {
  test("no reply until end of message; then the edits as exact packets and CONTINUE", async () => {
    const seen: MilterMessage[] = [];
    const { connect, errors } = await start((m) => {
      seen.push(m);
      return {
        headers: [
          { op: "delete", name: "X-Hookd-Track", index: 1 },
          { op: "add", name: "X-Tracked", value: "yes" },
        ],
        mailFrom: "bounces+q@v.test",
        body: Buffer.from("<p>new</p>\r\n"),
      };
    });
    const mta = await negotiated(connect);
    mta.send(message("4BcD1"));
    // The first packet after all of it is the first edit: MAIL, RCPT, headers, EOH and body
    // chunks got no reply (NR_* negotiated).
    const got = await mta.take(5);
    expect(got.map(raw)).toEqual([
      bytes([0, 0, 0, 20], "m", [0, 0, 0, 1], "X-Hookd-Track", [0], [0]),
      bytes([0, 0, 0, 16], "h", "X-Tracked", [0], " yes", [0]),
      bytes([0, 0, 0, 20], "e", "<bounces+q@v.test>", [0]),
      bytes([0, 0, 0, 13], "b", "<p>new</p>\r\n"),
      bytes([0, 0, 0, 1], "c"),
    ]);
    mta.send(packet("A"), packet("Q"));
    await mta.closed();
    expect(errors).toEqual([]);

    const [m] = seen as [MilterMessage];
    expect(m.queueId).toBe("4BcD1");
    expect(m.mailFrom).toBe("app@sender.test");
    expect(m.mailArgs).toEqual(["SIZE=1000"]);
    expect(m.rcptTo).toEqual(["one@rcpt.test", "two@rcpt.test"]);
    expect(m.headers).toEqual([
      { name: "From", value: " App <app@sender.test>" },
      { name: "Subject", value: " Hello\n\tfolded" },
      { name: "X-Hookd-Track", value: " opens, clicks" },
      { name: "Content-Type", value: " text/html" },
    ]);
    expect(m.header.toString()).toBe(
      "From: App <app@sender.test>\r\nSubject: Hello\r\n\tfolded\r\nX-Hookd-Track: opens, clicks\r\nContent-Type: text/html\r\n\r\n",
    );
    expect(m.body.toString()).toBe("<p>one</p>\r\n<p>two</p>\r\n<p>three</p>\r\n");
    expect(m.macros).toMatchObject({ i: "4BcD1", j: "mx.hookd.test", v: "Postfix 3.7.11" });
  });

  test("several messages per connection; ABORT drops a message half-way; null edits → ACCEPT", async () => {
    const seen: MilterMessage[] = [];
    const { connect } = await start((m) => {
      seen.push(m);
      return null;
    });
    const mta = await negotiated(connect);
    mta.send(message("Q1"));
    expect((await mta.next()).code).toBe("a");
    mta.send(packet("A"));
    mta.send(macro("M"), packet("M", cstr("<dropped@x.test>")), macro("R"), packet("R", cstr("<dropped@y.test>")), packet("A"));
    mta.send(message("Q3", { from: "third@x.test", rcpts: ["three@y.test"], headers: [["Subject", " 3"]], bodyChunks: ["3\r\n"] }));
    expect((await mta.next()).code).toBe("a");
    mta.send(packet("A"), packet("Q"));
    await mta.closed();
    expect(seen.map((m) => [m.queueId, m.mailFrom, m.rcptTo, m.headers.length, m.body.toString()])).toEqual([
      ["Q1", "app@sender.test", ["one@rcpt.test", "two@rcpt.test"], 4, "<p>one</p>\r\n<p>two</p>\r\n<p>three</p>\r\n"],
      ["Q3", "third@x.test", ["three@y.test"], 1, "3\r\n"],
    ]);
  });

  test("local submission (Postfix's cleanup): bare addresses, `i` from MAIL on", async () => {
    const seen: MilterMessage[] = [];
    const { connect } = await start((m) => {
      seen.push(m);
      return null;
    });
    const mta = await negotiated(connect);
    // `i` only with MAIL here: the macros sent just before MAIL survive the reset MAIL does.
    mta.send(
      macro("M", [["i", "LOC1"]]),
      packet("M", cstr("app@x.test")),
      macro("R"),
      packet("R", cstr("to@y.test")),
      macro("L"),
      packet("L", cstr("Subject"), cstr(" s")),
      macro("N"),
      packet("N"),
      macro("E"),
      packet("E", "tail\r\n"), // EOB may carry the last body bytes
    );
    expect((await mta.next()).code).toBe("a");
    expect(seen[0]).toMatchObject({ queueId: "LOC1", mailFrom: "app@x.test", rcptTo: ["to@y.test"] });
    expect(seen[0]!.body.toString()).toBe("tail\r\n");
  });

  test("QUIT_NC: the connection serves the MTA's next client without a new negotiation", async () => {
    let calls = 0;
    const { connect } = await start(() => {
      calls++;
      return null;
    });
    const mta = await negotiated(connect);
    mta.send(message("N1"), packet("A"), packet("K"), postfixConnect(), message("N2"));
    expect((await mta.take(2)).map((p) => p.code)).toEqual(["a", "a"]);
    expect(calls).toBe(2);
  });

  test("an MTA without no-reply flags gets CONTINUE for every command", async () => {
    const { connect } = await start(() => null);
    const mta = await connect();
    // Version 2: actions up to QUARANTINE (0x3f), flags NOCONNECT..NOEOH (0x7f).
    mta.send(optneg(2, 0x3f, 0x7f));
    // actions ADDHDRS|CHGBODY|CHGHDRS = 0x13; flags NOCONNECT|NOHELO = 0x3; no macro lists
    expect(raw(await mta.next())).toEqual(bytes([0, 0, 0, 13], "O", [0, 0, 0, 2], [0, 0, 0, 0x13], [0, 0, 0, 0x03]));
    mta.send(message("V2", { rcpts: ["r@x.test"], headers: [["Subject", "s"]], bodyChunks: ["b\r\n"] }));
    // MAIL, RCPT, one header, EOH, one body chunk: continue each; then accept at EOB.
    expect((await mta.take(6)).map((p) => p.code).join("")).toBe("ccccca");
  });
});

describe("the body replaced in chunks of at most the negotiated size, in one run", () => {
  test("65535 with Postfix", async () => {
    const body = Buffer.alloc(140_000, 0x41);
    const { connect } = await start(() => ({ body }));
    const mta = await negotiated(connect);
    mta.send(message("B1"));
    const got = await mta.take(4);
    expect(got.map((p) => [p.code, p.data.length])).toEqual([
      ["b", 65535],
      ["b", 65535],
      ["b", 8930],
      ["c", 0],
    ]);
    expect(Buffer.concat(got.slice(0, 3).map((p) => p.data))).toEqual(body);
  });

  test("262143 when the MTA offers MDS_256K (and it may send body chunks that large)", async () => {
    const body = Buffer.alloc(600_000, 0x42);
    const { connect } = await start((m) => ({ body: Buffer.concat([m.body, body]) }));
    const mta = await connect();
    mta.send(optneg(6, POSTFIX_ACTIONS, POSTFIX_PROTOCOL | 0x10000000));
    const reply = await mta.next();
    expect(reply.data.readUInt32BE(8)).toBe(0x1cc383 | 0x10000000);
    const big = "x".repeat(262_143);
    mta.send(message("M1", { bodyChunks: [big] }));
    const got = await mta.take(5);
    expect(got.map((p) => [p.code, p.data.length])).toEqual([
      ["b", 262143],
      ["b", 262143],
      ["b", 262143],
      ["b", 75714],
      ["c", 0],
    ]);
  });
});

describe("never break mail: the message goes through unchanged, and the failure is reported", () => {
  test("a handler that throws", async () => {
    const { connect, errors } = await start(() => {
      throw new Error("tracking core failed");
    });
    const mta = await negotiated(connect);
    mta.send(message("T1"));
    expect(raw(await mta.next())).toEqual(bytes([0, 0, 0, 1], "a"));
    expect(errors.map((e) => [e.queueId, e.err.message])).toEqual([["T1", "tracking core failed"]]);
  });

  test("a handler that times out (its signal aborts; its late answer is dropped)", async () => {
    let aborted = false;
    const { connect, errors } = await start(
      async (m, signal) => {
        if (m.queueId === "OK2") return null;
        await new Promise((r) => signal.addEventListener("abort", r));
        aborted = signal.aborted;
        return { headers: [{ op: "add", name: "X-Late", value: "1" }] };
      },
      { handlerTimeoutMs: 100 },
    );
    const mta = await negotiated(connect);
    mta.send(message("SLOW1"));
    expect((await mta.next()).code).toBe("a");
    expect(errors.map((e) => [e.queueId, e.err.name])).toEqual([["SLOW1", "HandlerTimeoutError"]]);
    expect(aborted).toBe(true);
    // The next packet answers the next message: nothing from the late answer came between.
    mta.send(packet("A"), message("OK2"));
    expect((await mta.next()).code).toBe("a");
  });

  test("edits that cannot be carried out", async () => {
    const { connect, errors } = await start(() => ({ headers: [{ op: "add", name: "Bad Name", value: "x" }] }));
    const mta = await negotiated(connect);
    mta.send(message("E1"));
    expect((await mta.next()).code).toBe("a");
    expect(errors[0]?.queueId).toBe("E1");
    expect(errors[0]?.err.name).toBe("MilterEditsError");
  });

  test("a message over the size limit: not buffered, the handler not asked", async () => {
    let calls = 0;
    const { connect, errors } = await start(
      () => {
        calls++;
        return null;
      },
      { maxMessageBytes: 10_000 },
    );
    const mta = await negotiated(connect);
    mta.send(message("BIG1", { bodyChunks: ["a".repeat(6_000), "b".repeat(6_000)] }));
    expect((await mta.next()).code).toBe("a");
    expect(calls).toBe(0);
    expect(errors.map((e) => [e.queueId, e.err.name])).toEqual([["BIG1", "MessageTooLargeError"]]);
    // The next message on the connection is handled normally.
    mta.send(packet("A"), message("SMALL2", { bodyChunks: ["ok\r\n"] }));
    expect((await mta.next()).code).toBe("a");
    expect(calls).toBe(1);
  });
});

describe("malformed input: a clear error, the connection closed, the server still serving", () => {
  const cases: [string, Buffer, RegExp][] = [
    ["length 0", bytes([0, 0, 0, 0], "M"), /packet length 0/],
    ["length over the limit", bytes(be32(200_000), "B"), /packet length 200000 over the limit of 131073/],
    ["unknown command", packet("Z"), /unknown command 'Z'/],
    ["header without NUL", packet("L", cstr("To"), "x"), /not NUL-terminated/],
    ["data before option negotiation", Buffer.alloc(0), /command 'M' before option negotiation/],
  ];
  for (const [name, bad, why] of cases) {
    test(name, async () => {
      const { connect, errors } = await start(() => null);
      const mta = await connect();
      if (bad.length > 0) {
        mta.send(optneg(6, POSTFIX_ACTIONS, POSTFIX_PROTOCOL));
        await mta.next();
        mta.send(bad);
      } else {
        mta.send(packet("M", cstr("<a@b>")));
      }
      await mta.closed();
      expect(errors).toHaveLength(1);
      expect(errors[0]!.err.name).toBe("MilterProtocolError");
      expect(errors[0]!.err.message).toMatch(why);
      const again = await negotiated(connect);
      again.send(message("AFTER"));
      expect((await again.next()).code).toBe("a");
    });
  }
});
