import { describe, expect, test } from "bun:test";
import { headerBlock } from "../../src/milter/message.ts";
import { applyHeaderEdits, lineEnding } from "../../src/mail/header-edits.ts";
import { deleteOps, firstHeader, headerValues, messageId, parseHeaderBlock, splitMessage, unfold } from "../../src/mail/headers.ts";

const BLOCK = Buffer.from(
  "Received: from a\r\n by b;\r\n\tSun, 1 Mar 2026\r\nSubject: Hello\r\nX-Hookd-Track: opens\r\nx-hookd-track: clicks\r\nMessage-ID: (comment) <id-1@example.com>\r\nNoColonLine\r\nSubject : obsolete space\r\n\r\n",
);

describe("parseHeaderBlock", () => {
  test("keeps every field in order, folds kept raw, and rebuilds the block byte for byte", () => {
    const fields = parseHeaderBlock(BLOCK);
    expect(fields.map((f) => f.name)).toEqual([
      "Received",
      "Subject",
      "X-Hookd-Track",
      "x-hookd-track",
      "Message-ID",
      "NoColonLine",
      "Subject ",
    ]);
    expect(fields[0]!.value).toBe(" from a\r\n by b;\r\n\tSun, 1 Mar 2026");
    expect(Buffer.concat([...fields.map((f) => f.raw), Buffer.from("\r\n")]).equals(BLOCK)).toBe(true);
  });

  test("stops at the empty line; LF-only blocks work the same", () => {
    const lf = Buffer.from("A: 1\n folded\nB: 2\n\nbody: not a header\n");
    const fields = parseHeaderBlock(lf);
    expect(fields.map((f) => [f.name, unfold(f.value)])).toEqual([
      ["A", " 1 folded"],
      ["B", " 2"],
    ]);
  });

  test("reads a milter's header block (name:value, leading space kept)", () => {
    const block = headerBlock([{ name: Buffer.from("Subject"), value: Buffer.from(" Hi\n there") }], true);
    expect(firstHeader(parseHeaderBlock(block), "subject")).toBe("Hi there");
  });
});

test("lookups are case-insensitive, unfolded and trimmed", () => {
  const fields = parseHeaderBlock(BLOCK);
  expect(headerValues(fields, "X-HOOKD-TRACK")).toEqual(["opens", "clicks"]);
  expect(headerValues(fields, "subject")).toEqual(["Hello", "obsolete space"]);
  expect(firstHeader(fields, "received")).toBe("from a by b;\tSun, 1 Mar 2026");
  expect(firstHeader(fields, "missing")).toBeUndefined();
  expect(messageId(fields)).toBe("id-1@example.com");
  expect(messageId(parseHeaderBlock(Buffer.from("Message-Id: bare@id\r\n\r\n")))).toBe("bare@id");
  expect(messageId(parseHeaderBlock(Buffer.from("Subject: x\r\n\r\n")))).toBeNull();
});

test("deleteOps count each name from 1, in the milter's terms", () => {
  const fields = parseHeaderBlock(BLOCK);
  expect(deleteOps(fields, ["x-hookd-track", "Subject"])).toEqual([
    { op: "delete", name: "Subject", index: 1 },
    { op: "delete", name: "X-Hookd-Track", index: 1 },
    { op: "delete", name: "x-hookd-track", index: 2 },
    { op: "delete", name: "Subject", index: 2 },
  ]);
});

test("splitMessage finds the empty line (CRLF or LF) and nothing else", () => {
  const m = splitMessage(Buffer.from("A: 1\r\n\r\nbody\r\n\r\nmore"))!;
  expect(m.header.toString()).toBe("A: 1\r\n\r\n");
  expect(m.body.toString()).toBe("body\r\n\r\nmore");
  expect(splitMessage(Buffer.from("A: 1\nB: 2\n\nbody"))!.body.toString()).toBe("body");
  expect(splitMessage(Buffer.from("\r\nbody"))!.header.toString()).toBe("\r\n");
  expect(splitMessage(Buffer.from("A: 1\r\nno empty line"))).toBeNull();
});

describe("applyHeaderEdits", () => {
  test("changes, deletes, adds and inserts as the MTA would; other fields keep their bytes", () => {
    const out = applyHeaderEdits(BLOCK, [
      { op: "delete", name: "X-Hookd-Track", index: 2 },
      { op: "delete", name: "X-Hookd-Track", index: 1 },
      { op: "change", name: "Subject", index: 2, value: "changed\r\n folded" },
      { op: "add", name: "List-Unsubscribe", value: "<https://t.example/u/x>" },
      { op: "insert", index: 0, name: "X-First", value: "1" },
      { op: "change", name: "X-Absent", index: 1, value: "appended" },
    ]);
    expect(out.toString()).toBe(
      "X-First: 1\r\nReceived: from a\r\n by b;\r\n\tSun, 1 Mar 2026\r\nSubject: Hello\r\nMessage-ID: (comment) <id-1@example.com>\r\nNoColonLine\r\nSubject: changed\r\n folded\r\nList-Unsubscribe: <https://t.example/u/x>\r\nX-Absent: appended\r\n\r\n",
    );
  });

  test("writes new fields with the block's own line ends", () => {
    const lf = Buffer.from("A: 1\n\n");
    expect(lineEnding(lf)).toBe("\n");
    expect(applyHeaderEdits(lf, [{ op: "add", name: "B", value: "x\r\n y" }]).toString()).toBe("A: 1\nB: x\n y\n\n");
  });
});
