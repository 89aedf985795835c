import { describe, expect, test } from "bun:test";
import { finished } from "node:stream";
import { Joiner, Splitter } from "@zone-eu/mailsplit";
import PostalMime from "postal-mime";
import { joinChunks, splitChunks } from "../../src/mail/mime.ts";
import { type UnchangedReason, rewriteHtmlParts } from "../../src/mail/parts.ts";
import { applied, crlf, decodedText, fixture, fixtureNames, lineLengths, pieces, split } from "./helpers.ts";

const MARK = "<!--hookd-mark-->";
const mark = (html: string) => html + MARK;
const limits = { maxBytes: 64 * 1024 * 1024, timeoutMs: 10_000 };

/** What each fixture gives with the marking rewrite: how many parts change, or why none. */
const EXPECTED: Record<string, number | UnchangedReason> = {
  "alternative.eml": 1,
  "amp-alternative.eml": 1,
  "attached-eml-attachment.eml": 1,
  "attached-eml-inline.eml": 1,
  "base64-html.eml": 1,
  "dkim-signed.eml": "dkim_signed",
  "html-file-attached.eml": 1,
  "html-only.eml": 1,
  "iso-8859-1-qp.eml": 1,
  "lf-alternative.eml": 1,
  "malformed-bad-base64.eml": "decode_failed",
  "malformed-bad-qp.eml": "decode_failed",
  "malformed-invalid-utf8.eml": "charset_roundtrip",
  "malformed-missing-close.eml": "malformed_mime",
  "malformed-no-boundary.eml": "malformed_mime",
  "malformed-two-content-types.eml": "malformed_mime",
  "malformed-unknown-charset.eml": "unknown_charset",
  "malformed-unknown-cte.eml": "unsupported_transfer_encoding",
  "malformed-wrong-boundary.eml": "malformed_mime",
  "mixed-attachments.eml": 1,
  "nested-7bit-long-line.eml": 1,
  "nested.eml": 1,
  "no-charset-8bit.eml": 1,
  "preamble-epilogue.eml": 1,
  "qp-soft-breaks.eml": 1,
  "real-mailparser-mixed.eml": 1,
  "real-mailparser-nested.eml": 2,
  "real-mailparser-nodemailer.eml": "dkim_signed",
  "real-mailparser-spam.eml": "malformed_mime",
  "real-mailsplit-message.eml": 1,
  "real-mailsplit-mimetorture.eml": "no_html",
  "related-inline-images.eml": 1,
  "signed.eml": "sealed",
  "text-only.eml": "no_html",
  "top-7bit-long-line.eml": 1,
  "utf8-8bit.eml": 1,
  "windows-1252-8bit.eml": 1,
};

const variants = (name: string) => [
  { label: name, raw: fixture(name) },
  { label: `${name} (CRLF)`, raw: crlf(fixture(name)) },
];

test("every fixture has an expected outcome", () => {
  expect(fixtureNames()).toEqual(Object.keys(EXPECTED).sort());
});

describe("split and join without a rewrite give the input bytes back", () => {
  for (const name of fixtureNames()) {
    for (const { label, raw } of variants(name)) {
      test(label, async () => {
        const { header, body } = split(raw);
        const chunks = await splitChunks(header, body, new AbortController().signal);
        expect((await joinChunks(chunks)).equals(raw)).toBe(true);
        // and mailsplit's own stream pipeline, fed in odd-sized pieces
        const out: Buffer[] = [];
        const joiner = new Joiner();
        joiner.on("data", (b: Buffer) => out.push(b));
        const done = new Promise((r) => finished(joiner, r));
        const splitter = new Splitter();
        splitter.pipe(joiner);
        for (let i = 0; i < raw.length; i += 333) splitter.write(raw.subarray(i, i + 333));
        splitter.end();
        await done;
        expect(Buffer.concat(out).equals(raw)).toBe(true);
      });
    }
  }
});

describe("a marking rewrite changes exactly the HTML parts", () => {
  for (const name of fixtureNames()) {
    for (const { label, raw } of variants(name)) {
      test(label, async () => {
        const expected = EXPECTED[name]!;
        const seen: string[] = [];
        const outcome = await rewriteHtmlParts(
          split(raw),
          (html) => {
            seen.push(html);
            return mark(html);
          },
          limits,
        );
        if (typeof expected === "string") {
          expect(outcome.changed ? "changed" : outcome.reason).toBe(expected);
          return;
        }
        if (!outcome.changed) throw new Error(`${outcome.reason}: ${outcome.detail}`);
        expect(outcome.rewritten).toBe(expected);
        const before = await pieces(raw);
        const after = await pieces(applied(raw, outcome));
        expect(after.map((p) => p.kind)).toEqual(before.map((p) => p.kind));
        let changed = 0;
        for (const [i, b] of before.entries()) {
          const a = after[i]!;
          if (a.kind === "data" || b.kind === "data") {
            expect(a.kind === "data" && b.kind === "data" && a.value.equals(b.value)).toBe(true);
            continue;
          }
          if (b.kind !== "node" || a.kind !== "node") throw new Error("unreachable");
          if (a.body.equals(b.body) && a.header.equals(b.header)) continue;
          changed++;
          expect(b.node.contentType).toBe("text/html");
          expect(b.node.disposition).not.toBe("attachment");
          // the rewritten part decodes to the callback's output (line ends after the HTML,
          // which the rewrite does not see, stay where they were) ...
          const tail = (b.node.encoding || "").toLowerCase() === "base64" ? "" : tailOf(b.body);
          const want = (mark(seen[changed - 1]!) + tail).replace(/\r\n/g, "\n");
          expect(decodedText(a.node, a.body).replace(/\r\n/g, "\n")).toBe(want);
          // ... and only its transfer encoding may have changed in its header
          if (!a.header.equals(b.header)) {
            expect(a.node.encoding).toBe("quoted-printable");
            const strip = (h: Buffer) => h.toString("latin1").replace(/^Content-Transfer-Encoding:.*\r?\n/im, "");
            expect(strip(a.header)).toBe(strip(b.header));
          }
          checkLineRules(a.node.encoding || "7bit", a.body);
        }
        expect(changed).toBe(expected);
        expect(seen.length).toBe(expected);
        // a message with LF line ends (Exim) gets no CR from the rewrite
        if (!raw.includes(0x0d)) expect(applied(raw, outcome).includes(0x0d)).toBe(false);
      });
    }
  }
});

/** Line ends after the HTML stay outside the rewrite (decoded text keeps them). */
function tailOf(body: Buffer): string {
  const m = /[\r\n]+$/.exec(body.toString("latin1"));
  return m ? m[0] : "";
}

function checkLineRules(encoding: string, body: Buffer): void {
  const max = encoding === "quoted-printable" || encoding === "base64" ? 76 : 998;
  expect(Math.max(...lineLengths(body))).toBeLessThanOrEqual(max);
}

test("a 7bit top-level part whose line would pass 998 octets becomes quoted-printable through a header edit", async () => {
  const raw = crlf(fixture("top-7bit-long-line.eml"));
  const outcome = await rewriteHtmlParts(split(raw), (h) => h.replace("</p>", `${"c".repeat(40)}</p>`), limits);
  if (!outcome.changed) throw new Error(outcome.reason);
  expect(outcome.headers).toEqual([{ op: "change", name: "Content-Transfer-Encoding", index: 1, value: "quoted-printable" }]);
  const [top] = await pieces(applied(raw, outcome));
  if (top?.kind !== "node") throw new Error("no top node");
  expect(top.node.encoding).toBe("quoted-printable");
  expect(decodedText(top.node, top.body)).toContain(`${"a".repeat(975)}${"c".repeat(40)}</p>`);
  expect(Math.max(...lineLengths(top.body))).toBeLessThanOrEqual(76);
});

test("a 7bit part that stays within 998 octets keeps its encoding and its header", async () => {
  const raw = fixture("nested-7bit-long-line.eml");
  const outcome = await rewriteHtmlParts(split(raw), (h) => h.replace("<html>", "<html><!--x-->"), limits);
  if (!outcome.changed) throw new Error(outcome.reason);
  expect(outcome.body.toString("latin1")).toContain("Content-Type: text/html; charset=us-ascii\r\n\r\n<html><!--x--><body>");
});

test("non-ASCII text goes back in the part's own charset", async () => {
  const raw = fixture("windows-1252-8bit.eml");
  const outcome = await rewriteHtmlParts(split(raw), (h) => h.replace("</body>", "<p>\u20ac \u00e9</p></body>"), limits);
  if (!outcome.changed) throw new Error(outcome.reason);
  expect(outcome.body.includes(Buffer.from("<p>\x80 \xe9</p>", "latin1"))).toBe(true);
  expect(outcome.body.includes(Buffer.from("\x93quoted\x94", "latin1"))).toBe(true);
});

test("text the charset cannot hold leaves the message unchanged", async () => {
  const outcome = await rewriteHtmlParts(split(fixture("iso-8859-1-qp.eml")), (h) => `${h}\u6771`, limits);
  expect(outcome).toMatchObject({ changed: false, reason: "unencodable" });
});

test("the rewrite returning null or the same HTML changes nothing", async () => {
  const m = split(fixture("alternative.eml"));
  expect(await rewriteHtmlParts(m, () => null, limits)).toMatchObject({ changed: false, reason: "not_rewritten" });
  expect(await rewriteHtmlParts(m, (h) => h, limits)).toMatchObject({ changed: false, reason: "not_rewritten" });
});

test("a rewrite that throws, or never answers, leaves the message unchanged", async () => {
  const m = split(fixture("alternative.eml"));
  const thrown = await rewriteHtmlParts(
    m,
    () => {
      throw new Error("boom");
    },
    limits,
  );
  expect(thrown).toMatchObject({ changed: false, reason: "rewrite_failed" });
  const started = performance.now();
  const hung = await rewriteHtmlParts(m, () => new Promise<string>(() => {}), { maxBytes: 1e9, timeoutMs: 50 });
  expect(hung).toMatchObject({ changed: false, reason: "timeout" });
  expect(performance.now() - started).toBeLessThan(2000);
});

test("the caller's abort signal stops the rewrite", async () => {
  const ac = new AbortController();
  const pending = rewriteHtmlParts(split(fixture("alternative.eml")), () => new Promise<string>(() => {}), {
    maxBytes: 1e9,
    timeoutMs: 60_000,
    signal: ac.signal,
  });
  ac.abort();
  expect(await pending).toMatchObject({ changed: false, reason: "timeout" });
});

test("a message over the size limit is not looked at", async () => {
  let called = false;
  const raw = fixture("mixed-attachments.eml");
  const outcome = await rewriteHtmlParts(
    split(raw),
    (h) => {
      called = true;
      return h;
    },
    { maxBytes: raw.length - 1, timeoutMs: 1000 },
  );
  expect(outcome).toMatchObject({ changed: false, reason: "too_large" });
  expect(called).toBe(false);
});

test("the HTML of an attached message and an attached HTML file are never passed to the rewrite", async () => {
  for (const name of [
    "attached-eml-inline.eml",
    "attached-eml-attachment.eml",
    "html-file-attached.eml",
    "real-mailsplit-mimetorture.eml",
  ]) {
    const seen: string[] = [];
    await rewriteHtmlParts(
      split(fixture(name)),
      (h) => {
        seen.push(h);
        return null;
      },
      limits,
    );
    expect(seen.join("\n")).not.toMatch(/inner\.example|attached\.example|This is an Attachment|<META/);
  }
});

test("a real message rewrites once its DKIM signature is gone", async () => {
  const raw = fixture("real-mailparser-nodemailer.eml");
  const stripped = Buffer.from(raw.toString("latin1").replace(/^DKIM-Signature:.*\r?\n(?:[ \t].*\r?\n)*/im, ""), "latin1");
  const outcome = await rewriteHtmlParts(split(stripped), mark, limits);
  expect(outcome.changed).toBe(true);
});

const msg = (body: string) =>
  split(Buffer.from(`From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${body}`));

test("a part whose header block a boundary cuts short leaves the message unchanged (mailsplit would not give it back)", async () => {
  const m = msg("--b\r\nContent-Type: text/html\r\n\r\n<p>ok</p>\r\n--b\r\nContent-Type: text/plain\r\n--b--\r\n");
  const chunks = await splitChunks(m.header, m.body, new AbortController().signal);
  expect((await joinChunks(chunks)).equals(Buffer.concat([m.header, m.body]))).toBe(false);
  expect(await rewriteHtmlParts(m, mark, limits)).toMatchObject({ changed: false, reason: "malformed_mime" });
});

test("an empty HTML part that gets content keeps the boundary after it on a line of its own", async () => {
  const m = msg("--b\r\nContent-Type: text/html\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\ntext\r\n--b--\r\n");
  const outcome = await rewriteHtmlParts(m, mark, limits);
  if (!outcome.changed) throw new Error(outcome.reason);
  expect(outcome.body.toString()).toBe(
    `--b\r\nContent-Type: text/html\r\n\r\n${MARK}\r\n--b\r\nContent-Type: text/plain\r\n\r\ntext\r\n--b--\r\n`,
  );
});

describe("a second parser (postal-mime) sees the same message, plus the mark", () => {
  const changedFixtures = Object.entries(EXPECTED).filter(([, v]) => typeof v === "number");
  for (const [name] of changedFixtures) {
    test(name, async () => {
      const raw = crlf(fixture(name));
      const outcome = await rewriteHtmlParts(split(raw), mark, limits);
      const [a, b] = await Promise.all([
        PostalMime.parse(raw, { attachmentEncoding: "base64" }),
        PostalMime.parse(applied(raw, outcome), { attachmentEncoding: "base64" }),
      ]);
      expect(b.html).toContain(MARK);
      expect(b.html?.replaceAll(MARK, "").replace(/\s+/g, "")).toBe(a.html?.replace(/\s+/g, ""));
      expect(b.text).toBe(a.text);
      const files = (e: typeof a) => e.attachments.map((x) => [x.filename, x.mimeType, x.disposition, x.content]);
      expect(files(b)).toEqual(files(a));
    });
  }
});
