// The MTA → milter direction: framing and every command's data layout, against bytes written
// out by hand from the protocol's definition, at every chunk boundary, and each kind of
// malformed packet.
import { describe, expect, test } from "bun:test";
import { CommandDecoder, type MtaCommand } from "../../src/milter/commands.ts";
import { Action, Cmd, DataSize, MacroStage, Proto, Reply, packetLimit } from "../../src/milter/protocol.ts";
import { be32, bytes, cstr, macro, packet, postfixConnect, postfixMessage } from "./wire.ts";

const LIMIT = packetLimit(DataSize.DEFAULT);

function decodeAll(...chunks: Uint8Array[]) {
  const d = new CommandDecoder(LIMIT);
  const commands: MtaCommand[] = [];
  let error: Error | null = null;
  for (const c of chunks) {
    const r = d.push(c);
    commands.push(...r.commands);
    error ??= r.error;
  }
  return { commands, error };
}

describe("constants (mfdef.h v8.40, mfapi.h v8.83)", () => {
  test("command, reply, action, protocol and macro-stage values", () => {
    expect(Cmd).toEqual({
      OPTNEG: "O",
      MACRO: "D",
      CONNECT: "C",
      HELO: "H",
      MAIL: "M",
      RCPT: "R",
      DATA: "T",
      HEADER: "L",
      EOH: "N",
      BODY: "B",
      BODYEOB: "E",
      ABORT: "A",
      QUIT: "Q",
      QUIT_NC: "K",
      UNKNOWN: "U",
    });
    expect(Reply).toEqual({
      CONTINUE: "c",
      ACCEPT: "a",
      TEMPFAIL: "t",
      REJECT: "r",
      REPLYCODE: "y",
      ADDHEADER: "h",
      INSHEADER: "i",
      CHGHEADER: "m",
      REPLBODY: "b",
      CHGFROM: "e",
      ADDRCPT: "+",
      DELRCPT: "-",
      PROGRESS: "p",
      SKIP: "s",
      SETSYMLIST: "l",
    });
    expect(Action).toEqual({
      ADDHDRS: 0x01,
      CHGBODY: 0x02,
      ADDRCPT: 0x04,
      DELRCPT: 0x08,
      CHGHDRS: 0x10,
      QUARANTINE: 0x20,
      CHGFROM: 0x40,
      ADDRCPT_PAR: 0x80,
      SETSYMLIST: 0x100,
    });
    expect(Proto).toEqual({
      NOCONNECT: 0x1,
      NOHELO: 0x2,
      NOMAIL: 0x4,
      NORCPT: 0x8,
      NOBODY: 0x10,
      NOHDRS: 0x20,
      NOEOH: 0x40,
      NR_HDR: 0x80,
      NOUNKNOWN: 0x100,
      NODATA: 0x200,
      SKIP: 0x400,
      RCPT_REJ: 0x800,
      NR_CONN: 0x1000,
      NR_HELO: 0x2000,
      NR_MAIL: 0x4000,
      NR_RCPT: 0x8000,
      NR_DATA: 0x10000,
      NR_UNKN: 0x20000,
      NR_EOH: 0x40000,
      NR_BODY: 0x80000,
      HDR_LEADSPC: 0x100000,
      MDS_256K: 0x10000000,
      MDS_1M: 0x20000000,
    });
    expect(MacroStage).toEqual({ CONNECT: 0, HELO: 1, ENVFROM: 2, ENVRCPT: 3, DATA: 4, EOM: 5, EOH: 6 });
    expect(DataSize).toEqual({ DEFAULT: 65535, MDS_256K: 262143, MDS_1M: 1048575 });
  });
});

describe("each command's layout", () => {
  test("OPTNEG: version, actions, protocol flags as big-endian uint32", () => {
    // length 13 = 'O' + 12 bytes
    const wire = bytes([0, 0, 0, 13], "O", [0, 0, 0, 6], [0, 0, 0x01, 0xff], [0, 0x1f, 0xff, 0xff]);
    expect(decodeAll(wire)).toEqual({ commands: [{ code: "O", version: 6, actions: 0x1ff, protocol: 0x1fffff }], error: null });
  });

  test("MACRO: the command byte, then name NUL value NUL pairs; an empty list too", () => {
    // 16 = "D" + "R" + "i\0" + "4A1B2C\0" + "{x}\0" + "\0"
    const wire = bytes([0, 0, 0, 16], "D", "R", "i", [0], "4A1B2C", [0], "{x}", [0], "", [0]);
    const empty = bytes([0, 0, 0, 2], "D", "H");
    expect(decodeAll(wire, empty).commands).toEqual([
      {
        code: "D",
        stage: "R",
        macros: [
          ["i", "4A1B2C"],
          ["{x}", ""],
        ],
      },
      { code: "D", stage: "H", macros: [] },
    ]);
  });

  test("CONNECT: hostname, family, port, address; family 'U' carries nothing more", () => {
    const inet = bytes(be32(1 + 10 + 1 + 2 + 10), "C", "localhost", [0], "4", [0x1f, 0x90], "127.0.0.1", [0]);
    const unknown = bytes(be32(1 + 8 + 1), "C", "unknown", [0], "U");
    expect(decodeAll(inet, unknown).commands).toEqual([
      { code: "C", hostname: "localhost", family: "4", port: 8080, address: "127.0.0.1" },
      { code: "C", hostname: "unknown", family: "U", port: null, address: null },
    ]);
  });

  test("HELO, MAIL and RCPT (address then ESMTP args), UNKNOWN", () => {
    const wire = Buffer.concat([
      bytes([0, 0, 0, 10], "H", "client.x", [0]),
      bytes(be32(1 + 8 + 10), "M", "<a@b.c>", [0], "SIZE=1234", [0]),
      bytes(be32(1 + 8), "R", "<d@e.f>", [0]),
      bytes(be32(1 + 5), "U", "XYZZ", [0]),
    ]);
    expect(decodeAll(wire).commands).toEqual([
      { code: "H", helo: "client.x" },
      { code: "M", args: ["<a@b.c>", "SIZE=1234"] },
      { code: "R", args: ["<d@e.f>"] },
      { code: "U", command: "XYZZ" },
    ]);
  });

  test("HEADER keeps the value's bytes exactly (leading space, folds, 8-bit)", () => {
    const value = bytes(" caf", [0xc3, 0xa9], "\n\tsecond line");
    const wire = bytes(be32(1 + 8 + value.length + 1), "L", "Subject", [0], value, [0]);
    const [h] = decodeAll(wire).commands as [{ code: "L"; name: Buffer; value: Buffer }];
    expect(h.code).toBe("L");
    expect(h.name.toString()).toBe("Subject");
    expect(Buffer.compare(h.value, value)).toBe(0);
  });

  test("BODY and BODYEOB carry raw bytes (NULs included); DATA, EOH, ABORT, QUIT, QUIT_NC none", () => {
    const wire = Buffer.concat([
      bytes([0, 0, 0, 6], "B", "a", [0], "\r\nb"),
      bytes([0, 0, 0, 1], "E"),
      bytes([0, 0, 0, 1], "T"),
      bytes([0, 0, 0, 1], "N"),
      bytes([0, 0, 0, 1], "A"),
      bytes([0, 0, 0, 1], "K"),
      bytes([0, 0, 0, 1], "Q"),
    ]);
    const { commands } = decodeAll(wire);
    expect(commands.map((c) => c.code)).toEqual(["B", "E", "T", "N", "A", "K", "Q"]);
    expect((commands[0] as { chunk: Buffer }).chunk).toEqual(bytes("a", [0], "\r\nb"));
    expect((commands[1] as { chunk: Buffer }).chunk.length).toBe(0);
  });
});

describe("streaming", () => {
  const stream = Buffer.concat([
    bytes([0, 0, 0, 13], "O", be32(6), be32(0x1ff), be32(0x1fffff)),
    postfixConnect(),
    postfixMessage({
      queueId: "4XyZ1",
      from: "s@x.test",
      rcpts: ["a@y.test", "b@y.test"],
      headers: [
        ["From", " <s@x.test>"],
        ["Subject", " folded\n\tline"],
      ],
      bodyChunks: ["hello\r\n", "world\r\n"],
    }),
    packet("A"),
    packet("Q"),
  ]);
  const whole = decodeAll(stream);

  test("a Postfix conversation decodes whole", () => {
    expect(whole.error).toBeNull();
    expect(whole.commands.map((c) => c.code).join("")).toBe("ODDDMDRDRDDLDLDNDBDBDEAQ");
  });

  test("every split into two chunks gives the same commands", () => {
    for (let i = 1; i < stream.length; i++) {
      const r = decodeAll(stream.subarray(0, i), stream.subarray(i));
      expect(r.error).toBeNull();
      expect(r.commands).toEqual(whole.commands);
    }
  });

  test("one byte at a time gives the same commands", () => {
    const chunks = [...stream].map((b) => Uint8Array.of(b));
    expect(decodeAll(...chunks)).toEqual(whole);
  });

  test("a body chunk of the largest size Postfix sends (65535) passes; the limit is raised with MDS", () => {
    const big = packet("B", Buffer.alloc(DataSize.DEFAULT, 0x61));
    expect(decodeAll(big).commands[0]).toMatchObject({ code: "B" });
    const d = new CommandDecoder(LIMIT);
    const huge = packet("B", Buffer.alloc(DataSize.MDS_256K, 0x61));
    expect(d.push(huge).error?.message).toContain("over the limit");
    const raised = new CommandDecoder(LIMIT);
    raised.setLimit(packetLimit(DataSize.MDS_256K));
    expect(raised.push(huge).commands).toHaveLength(1);
  });

  test("a 100 KiB header (Postfix's header_size_limit is 102400) fits the default limit", () => {
    const value = " " + "x".repeat(102_000);
    expect(decodeAll(packet("L", cstr("X-Big"), cstr(value))).error).toBeNull();
  });
});

describe("malformed packets: a clear error, packets before it kept, nothing after", () => {
  const cases: [string, Buffer, RegExp][] = [
    ["length 0", bytes([0, 0, 0, 0], "B"), /packet length 0/],
    ["length over the limit", bytes(be32(LIMIT + 1), "B"), new RegExp(`packet length ${LIMIT + 1} over the limit of ${LIMIT} bytes`)],
    ["length 0xffffffff", bytes([0xff, 0xff, 0xff, 0xff], "L"), /over the limit/],
    ["unknown command", bytes([0, 0, 0, 1], "Z"), /unknown command 'Z' \(0x5a\)/],
    ["unprintable command", bytes([0, 0, 0, 1], [0x01]), /unknown command \(0x01\)/],
    [
      "header value without NUL",
      bytes([0, 0, 0, 8], "L", "To", [0], "abcd"),
      /command 'L' \(0x4c\): string at byte 3 is not NUL-terminated/,
    ],
    ["header with one string", packet("L", cstr("To")), /expected 2 NUL-terminated strings, got 1/],
    ["macro name without value", packet("D", "M", cstr("i")), /macro name "i" has no value/],
    ["macro for an unknown command", packet("D", "z", cstr("i"), cstr("1")), /macros for unknown command 'z'/],
    ["macro without its command byte", packet("D"), /macro packet without the command/],
    ["OPTNEG too short", packet("O", be32(6), be32(1)), /option negotiation needs 12 bytes, got 8/],
    ["MAIL without NUL", packet("M", "<a@b>"), /not NUL-terminated/],
    ["MAIL with no address", packet("M"), /no address/],
    ["HELO without NUL", packet("H", "x"), /not NUL-terminated/],
    ["CONNECT without family", packet("C", cstr("host")), /address family missing/],
    ["CONNECT unknown family", packet("C", cstr("host"), "9", [0, 25], cstr("1.2.3.4")), /unknown address family '9'/],
    ["CONNECT address without NUL", packet("C", cstr("host"), "4", [0, 25], "1.2.3.4"), /not NUL-terminated/],
    ["EOH with data", packet("N", "x"), /carries no data, got 1 bytes/],
  ];
  for (const [name, bad, message] of cases) {
    test(name, () => {
      const good = packet("A");
      const d = new CommandDecoder(LIMIT);
      const r = d.push(Buffer.concat([good, bad, good]));
      expect(r.commands).toEqual([{ code: "A" }]);
      expect(r.error?.name).toBe("MilterProtocolError");
      expect(r.error?.message).toMatch(message);
      // The stream cannot be resynchronised: later bytes give the same error, no commands.
      expect(d.push(good)).toEqual({ commands: [], error: r.error });
    });
  }

  test("a bad length is caught from its first 5 bytes, before the rest arrives", () => {
    const d = new CommandDecoder(LIMIT);
    expect(d.push(bytes([0x7f, 0, 0])).error).toBeNull();
    expect(d.push(bytes([0], "B")).error?.message).toMatch(/over the limit/);
    expect(d.bufferedBytes).toBe(0);
  });

  test("macro packets reference their stage byte", () => {
    expect(decodeAll(macro("E", [["i", "Q1"]])).commands).toEqual([{ code: "D", stage: "E", macros: [["i", "Q1"]] }]);
  });
});
