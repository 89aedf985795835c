import { describe, expect, test } from "bun:test";
import { splitLines } from "../../src/ingest/split-lines.ts";

const split = (text: string) => {
  const out: string[] = [];
  splitLines(text, (l) => out.push(l));
  return out;
};

describe("splitLines", () => {
  test("lines without their \\n or \\r\\n; blank lines kept; nothing after a final \\n", () => {
    expect(split("")).toEqual([]);
    expect(split("\n")).toEqual([""]);
    expect(split("a\r\n\r\n\nb\r\n")).toEqual(["a", "", "", "b"]);
    expect(split("a\nb")).toEqual(["a", "b"]);
  });

  test("a last line without \\n is passed as it is, a \\r too; a lone \\r inside a line stays", () => {
    expect(split("a\nc\r")).toEqual(["a", "c\r"]);
    expect(split("x\ry\n")).toEqual(["x\ry"]);
  });
});
