// The milter → MTA direction: every packet hookd sends, compared with bytes written out by
// hand from the protocol's definition; option negotiation; edits → packets.
import { describe, expect, test } from "bun:test";
import {
  acceptPacket,
  addHeaderPacket,
  addRcptPacket,
  changeFromPacket,
  changeHeaderPacket,
  continuePacket,
  delRcptPacket,
  deleteHeaderPacket,
  insertHeaderPacket,
  optnegReply,
  progressPacket,
  rejectPacket,
  replaceBodyPackets,
  replyCodePacket,
  skipPacket,
  tempfailPacket,
} from "../../src/milter/replies.ts";
import { negotiate } from "../../src/milter/negotiate.ts";
import { editPackets, MilterEditsError } from "../../src/milter/edits.ts";
import { bytes, splitPackets, strings, POSTFIX_ACTIONS, POSTFIX_PROTOCOL } from "./wire.ts";

describe("reply packets, byte for byte", () => {
  test("one-byte decisions: continue, accept, tempfail, reject, progress, skip", () => {
    expect(continuePacket()).toEqual(bytes([0, 0, 0, 1], "c"));
    expect(acceptPacket()).toEqual(bytes([0, 0, 0, 1], "a"));
    expect(tempfailPacket()).toEqual(bytes([0, 0, 0, 1], "t"));
    expect(rejectPacket()).toEqual(bytes([0, 0, 0, 1], "r"));
    expect(progressPacket()).toEqual(bytes([0, 0, 0, 1], "p"));
    expect(skipPacket()).toEqual(bytes([0, 0, 0, 1], "s"));
  });

  test("REPLYCODE: the SMTP reply, NUL-terminated; only 4xx/5xx", () => {
    expect(replyCodePacket("451 4.7.1 later")).toEqual(bytes([0, 0, 0, 17], "y", "451 4.7.1 later", [0]));
    expect(() => replyCodePacket("250 ok")).toThrow(/4xx or 5xx/);
  });

  test("ADDHEADER: name NUL value NUL", () => {
    expect(addHeaderPacket("X-A", " b")).toEqual(bytes([0, 0, 0, 8], "h", "X-A", [0], " b", [0]));
  });

  test("INSHEADER and CHGHEADER: uint32 index, name NUL, value NUL; delete = empty value", () => {
    expect(insertHeaderPacket(0, "X-A", "v")).toEqual(bytes([0, 0, 0, 11], "i", [0, 0, 0, 0], "X-A", [0], "v", [0]));
    expect(changeHeaderPacket(258, "To", "x")).toEqual(bytes([0, 0, 0, 10], "m", [0, 0, 1, 2], "To", [0], "x", [0]));
    expect(deleteHeaderPacket(1, "X-Hookd-Track")).toEqual(bytes([0, 0, 0, 20], "m", [0, 0, 0, 1], "X-Hookd-Track", [0], [0]));
  });

  test("CHGFROM: address NUL, ESMTP args NUL only when given; ADDRCPT/DELRCPT: address NUL", () => {
    expect(changeFromPacket("<b+t@v.test>")).toEqual(bytes([0, 0, 0, 14], "e", "<b+t@v.test>", [0]));
    expect(changeFromPacket("<a@b>", "SIZE=1")).toEqual(bytes([0, 0, 0, 14], "e", "<a@b>", [0], "SIZE=1", [0]));
    expect(addRcptPacket("<a@b>")).toEqual(bytes([0, 0, 0, 7], "+", "<a@b>", [0]));
    expect(delRcptPacket("<a@b>")).toEqual(bytes([0, 0, 0, 7], "-", "<a@b>", [0]));
  });

  test("REPLBODY: raw bytes in pieces of at most the chunk size, in order", () => {
    const body = Buffer.from("0123456789");
    expect(replaceBodyPackets(body, 4)).toEqual([
      bytes([0, 0, 0, 5], "b", "0123"),
      bytes([0, 0, 0, 5], "b", "4567"),
      bytes([0, 0, 0, 3], "b", "89"),
    ]);
    expect(replaceBodyPackets(Buffer.alloc(0), 4)).toEqual([bytes([0, 0, 0, 1], "b")]);
  });

  test("a NUL inside a string is refused (it would cut the string on the wire)", () => {
    expect(() => addHeaderPacket("X-A", "a\0b")).toThrow(/header value contains a NUL/);
  });

  test("OPTNEG reply: version, actions, flags, then each macro list as uint32 stage + names NUL", () => {
    const wire = optnegReply({ version: 6, actions: 0x153, protocol: 0x1cc383, macros: { 2: ["i"], 5: ["i", "{mail_addr}"] } });
    expect(wire).toEqual(
      bytes(
        [0, 0, 0, 37],
        "O",
        [0, 0, 0, 6],
        [0, 0, 0x01, 0x53],
        [0, 0x1c, 0xc3, 0x83],
        [0, 0, 0, 2],
        "i",
        [0],
        [0, 0, 0, 5],
        "i {mail_addr}",
        [0],
      ),
    );
  });
});

describe("option negotiation", () => {
  test("with Postfix's offer: only the actions and flags hookd needs, `i` at every message stage", () => {
    const n = negotiate({ version: 6, actions: POSTFIX_ACTIONS, protocol: POSTFIX_PROTOCOL });
    expect(n.version).toBe(6);
    // ADDHDRS 0x01 | CHGBODY 0x02 | CHGHDRS 0x10 | CHGFROM 0x40 | SETSYMLIST 0x100
    expect(n.actions).toBe(0x153);
    // NOCONNECT 0x1 | NOHELO 0x2 | NR_HDR 0x80 | NOUNKNOWN 0x100 | NODATA 0x200 | NR_MAIL 0x4000 |
    // NR_RCPT 0x8000 | NR_EOH 0x40000 | NR_BODY 0x80000 | HDR_LEADSPC 0x100000
    expect(n.protocol).toBe(0x1cc383);
    expect(n.dataSize).toBe(65535);
    expect(n.leadingSpace).toBe(true);
    expect([...n.noReply].sort()).toEqual(["B", "L", "M", "N", "R"]);
    expect(n.macros).toEqual({ 2: ["i"], 3: ["i"], 4: ["i"], 5: ["i"], 6: ["i"] });
    expect(optnegReply(n)).toEqual(
      bytes(
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
      ),
    );
  });

  test("asks for nothing the MTA did not offer; no macro lists without SETSYMLIST", () => {
    // A version-2 MTA: actions 0x3f, protocol flags 0x7f.
    const n = negotiate({ version: 2, actions: 0x3f, protocol: 0x7f });
    expect(n).toMatchObject({ version: 2, actions: 0x13, protocol: 0x3, dataSize: 65535, leadingSpace: false, macros: {} });
    expect(n.noReply.size).toBe(0);
  });

  test("the largest body chunk size offered: MDS_1M over MDS_256K", () => {
    expect(negotiate({ version: 6, actions: 0x1ff, protocol: 0x1fffff | 0x10000000 })).toMatchObject({ dataSize: 262143 });
    const both = negotiate({ version: 6, actions: 0x1ff, protocol: 0x1fffff | 0x30000000 });
    expect(both.dataSize).toBe(1048575);
    expect(both.protocol & 0x30000000).toBe(0x20000000);
  });

  test("a newer MTA gets version 6; one older than 2 is refused", () => {
    expect(negotiate({ version: 7, actions: 0x1ff, protocol: 0x1fffff }).version).toBe(6);
    expect(() => negotiate({ version: 1, actions: 0xf, protocol: 0x3f })).toThrow(/version 1; at least 2/);
  });
});

describe("edits → end-of-message packets", () => {
  const postfix = { actions: 0x153, dataSize: 65535, leadingSpace: true };

  test("changes, then deletes from the highest index down, then adds/inserts, sender, body", () => {
    const packets = editPackets(
      {
        headers: [
          { op: "add", name: "X-New", value: "1" },
          { op: "delete", name: "X-Hookd-Track", index: 1 },
          { op: "delete", name: "X-Hookd-Track", index: 2 },
          { op: "change", name: "Subject", index: 1, value: "new\r\n\tfolded" },
          { op: "insert", index: 0, name: "X-Top", value: "t" },
        ],
        mailFrom: "bounces+tok@v.test",
        body: Buffer.from("body\r\n"),
      },
      postfix,
    );
    const got = packets.map((p) => {
      const [{ code, data }] = splitPackets(p).packets as [{ code: string; data: Buffer }];
      const index = code === "m" || code === "i" ? data.readUInt32BE(0) : null;
      return { code, index, strings: code === "b" ? [data.toString()] : strings(index === null ? data : data.subarray(4)) };
    });
    expect(got).toEqual([
      // With HDR_LEADSPC the value goes with its space; folds with "\n" alone.
      { code: "m", index: 1, strings: ["Subject", " new\n\tfolded"] },
      { code: "m", index: 2, strings: ["X-Hookd-Track", ""] },
      { code: "m", index: 1, strings: ["X-Hookd-Track", ""] },
      { code: "h", index: null, strings: ["X-New", " 1"] },
      { code: "i", index: 0, strings: ["X-Top", " t"] },
      { code: "e", index: null, strings: ["<bounces+tok@v.test>"] },
      { code: "b", index: null, strings: ["body\r\n"] },
    ]);
  });

  test("without HDR_LEADSPC the value goes bare (the MTA adds the space)", () => {
    const [p] = editPackets({ headers: [{ op: "add", name: "X-A", value: "v" }] }, { ...postfix, leadingSpace: false });
    expect(p).toEqual(bytes([0, 0, 0, 7], "h", "X-A", [0], "v", [0]));
  });

  test("a body over the chunk size goes in consecutive REPLBODY pieces of at most that size", () => {
    const body = Buffer.alloc(200_000, 0x41);
    const packets = editPackets({ body, headers: [{ op: "add", name: "X-A", value: "v" }] }, postfix);
    expect(packets.map((p) => (p[4] === 0x62 ? p.readUInt32BE(0) - 1 : String.fromCharCode(p[4]!)))).toEqual([
      "h",
      65535,
      65535,
      65535,
      3395,
    ]);
    expect(Buffer.concat(packets.slice(1).map((p) => p.subarray(5)))).toEqual(body);
  });

  const invalid: [string, unknown, RegExp][] = [
    [
      "header name with a space",
      { headers: [{ op: "add", name: "X A", value: "v" }] },
      /headers\.0\.name: a header name is printable ASCII/,
    ],
    ["header name with a colon", { headers: [{ op: "add", name: "X:A", value: "v" }] }, /printable ASCII without spaces or ':'/],
    ["a line break that is not a fold", { headers: [{ op: "add", name: "X-A", value: "v\r\nBcc: x@y" }] }, /must be a fold/],
    ["NUL in a value", { headers: [{ op: "add", name: "X-A", value: "a\0" }] }, /must not contain NUL/],
    ["index 0 for a change", { headers: [{ op: "delete", name: "X-A", index: 0 }] }, /headers\.0\.index/],
    ["change to an empty value", { headers: [{ op: "change", name: "X-A", index: 1, value: "" }] }, /use op delete/],
    [
      "the same header deleted twice",
      {
        headers: [
          { op: "delete", name: "X-A", index: 1 },
          { op: "delete", name: "x-a", index: 1 },
        ],
      },
      /changed or deleted twice/,
    ],
    ["a sender with angle brackets", { mailFrom: "<a@b>" }, /mailFrom: an envelope sender/],
    ["a body that is not bytes", { body: "text" }, /body/],
    ["an unknown key", { subject: "x" }, /Unrecognized key/],
  ];
  for (const [name, edits, message] of invalid) {
    test(`refused: ${name}`, () => {
      expect(() => editPackets(edits as never, postfix)).toThrow(MilterEditsError);
      expect(() => editPackets(edits as never, postfix)).toThrow(message);
    });
  }

  test("refused: an edit the MTA did not grant", () => {
    expect(() => editPackets({ body: Buffer.from("x") }, { ...postfix, actions: 0x11 })).toThrow(/body replacement needs SMFIF_CHGBODY/);
    expect(() => editPackets({ mailFrom: "a@b" }, { ...postfix, actions: 0x13 })).toThrow(/needs SMFIF_CHGFROM/);
  });
});
