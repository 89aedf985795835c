import { expect, test } from "bun:test";
import { applyHeaderEdits } from "../../src/mail/header-edits.ts";
import { MilterEditsSchema } from "../../src/milter/edits.ts";
import { deleteOps, headerValues, parseHeaderBlock } from "../../src/mail/headers.ts";
import { listUnsubscribeEdits, listUnsubscribeUris } from "../../src/mail/list-unsubscribe.ts";

const URL = "https://t.example.com/u/v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.signature";
const block = (...lines: string[]) => Buffer.from(`From: a@example.com\r\n${lines.map((l) => `${l}\r\n`).join("")}\r\n`);

/** The headers after the edits, as the recipient sees them. */
function after(b: Buffer) {
  const { edits, action } = listUnsubscribeEdits(parseHeaderBlock(b), URL);
  const out = parseHeaderBlock(applyHeaderEdits(b, edits));
  return { action, edits, lu: headerValues(out, "List-Unsubscribe"), post: headerValues(out, "List-Unsubscribe-Post") };
}

test("no List-Unsubscribe: hookd's URL and the one-click header are added", () => {
  const r = after(block("Subject: x"));
  expect(r.action).toBe("added");
  expect(r.edits).toEqual([
    { op: "add", name: "List-Unsubscribe", value: `<${URL}>` },
    { op: "add", name: "List-Unsubscribe-Post", value: "List-Unsubscribe=One-Click" },
  ]);
  expect(r.post).toEqual(["List-Unsubscribe=One-Click"]);
});

test("the application's mailto: and https entries stay, after hookd's URL", () => {
  const r = after(block("List-Unsubscribe: <mailto:unsub@example.com?subject=unsubscribe>,", "    <https://app.example.com/unsub?u=1>"));
  expect(r.action).toBe("merged");
  expect(r.lu.length).toBe(1);
  expect(listUnsubscribeUris(r.lu[0]!)).toEqual([URL, "mailto:unsub@example.com?subject=unsubscribe", "https://app.example.com/unsub?u=1"]);
  expect(r.edits[0]).toMatchObject({ op: "change", name: "List-Unsubscribe", index: 1 });
  expect(r.post).toEqual(["List-Unsubscribe=One-Click"]);
  // folded so that no line passes 78 characters where an entry boundary allows it
  const value = r.edits[0]!.op === "change" ? r.edits[0]!.value : "";
  expect(value).toContain(",\r\n <mailto:");
  expect(value.split("\r\n").every((l, i) => i === 0 || l.startsWith(" "))).toBe(true);
});

test("when the application already offers one-click over https, nothing changes", () => {
  const r = after(
    block("List-Unsubscribe: <https://app.example.com/u/1>, <mailto:u@example.com>", "List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
  );
  expect(r).toMatchObject({ action: "kept", edits: [] });
});

test("List-Unsubscribe-Post ends up exactly once with the RFC 8058 value; extra List-Unsubscribe fields merge into the first", () => {
  const r = after(
    block(
      "List-Unsubscribe: <mailto:a@example.com>",
      "List-Unsubscribe-Post: List-Unsubscribe=Maybe",
      "List-Unsubscribe: <mailto:b@example.com>, <mailto:a@example.com>",
      "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    ),
  );
  expect(r.lu.map(listUnsubscribeUris)).toEqual([[URL, "mailto:a@example.com", "mailto:b@example.com"]]);
  expect(r.post).toEqual(["List-Unsubscribe=One-Click"]);
});

test("a one-click header without an https URI does not count as the application's one-click", () => {
  const r = after(block("List-Unsubscribe: <mailto:a@example.com>", "List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
  expect(r.action).toBe("merged");
  expect(r.edits.some((e) => e.name === "List-Unsubscribe-Post")).toBe(false);
  expect(r.post).toEqual(["List-Unsubscribe=One-Click"]);
});

test("URIs are read from the brackets: comments, folding and spaces inside ignored", () => {
  expect(listUnsubscribeUris("(comment) <mailto:a@x>,\r\n <https://x/ a\r\n b>, garbage")).toEqual(["mailto:a@x", "https://x/ab"]);
});

test("hookd's URL must be http(s); an http URL is listed but gets no one-click header", () => {
  expect(() => listUnsubscribeEdits([], "ftp://t.example.com/u/x")).toThrow(/http\(s\)/);
  expect(() => listUnsubscribeEdits([], "https://t.example.com/u/x y")).toThrow(/http\(s\)/);
  expect(listUnsubscribeEdits([], "http://t.example.com/u/x").edits).toEqual([
    { op: "add", name: "List-Unsubscribe", value: "<http://t.example.com/u/x>" },
  ]);
});

test("hookd's mailto: address goes right after its URL, before the application's entries", () => {
  const b = block("List-Unsubscribe: <mailto:unsub@example.com>");
  const { edits } = listUnsubscribeEdits(parseHeaderBlock(b), URL, { mailto: "unsubscribe+abc234@bounces.example.com" });
  const lu = headerValues(parseHeaderBlock(applyHeaderEdits(b, edits)), "List-Unsubscribe");
  expect(lu.map(listUnsubscribeUris)).toEqual([[URL, "mailto:unsubscribe+abc234@bounces.example.com", "mailto:unsub@example.com"]]);
  expect(() => listUnsubscribeEdits([], URL, { mailto: "a b@example.com" })).toThrow(/address/);
});

test("the edits are valid milter edits (folds included)", () => {
  const b = block(
    "X-Hookd-Track: all",
    "List-Unsubscribe: <mailto:unsub@example.com?subject=unsubscribe>, <https://app.example.com/unsub?u=1>",
    "List-Unsubscribe-Post: x",
  );
  const { edits } = listUnsubscribeEdits(parseHeaderBlock(b), URL);
  const headers = [...edits, ...deleteOps(parseHeaderBlock(b), ["x-hookd-track"])];
  expect(headers.map((e) => e.op)).toEqual(["change", "change", "delete"]);
  expect(MilterEditsSchema.safeParse({ headers }).success).toBe(true);
});
