import { describe, expect, test } from "bun:test";
import iconv from "iconv-lite";
import { decode as qpDecode } from "libqp";
import { CharsetError, charsetFor, decodeText, encodeText } from "../../src/mail/charset.ts";
import {
  TransferError,
  decodeBase64,
  decodeQuotedPrintable,
  encodeBase64,
  encodeQuotedPrintable,
  encodeTransfer,
  transferEncoding,
} from "../../src/mail/transfer.ts";
import { lineLengths } from "./helpers.ts";

const b = (s: string) => Buffer.from(s, "latin1");

describe("quoted-printable", () => {
  test("decodes escapes, soft breaks and transport padding; keeps hard breaks", () => {
    expect(decodeQuotedPrintable(b("a=3Db caf=C3=A9=\r\nsoft  \r\nhard\r\nend=")).toString("latin1")).toBe(
      "a=b caf\xc3\xa9soft\r\nhard\r\nend",
    );
    expect(decodeQuotedPrintable(b("lower =c3=a9 and LF\nline")).toString("latin1")).toBe("lower \xc3\xa9 and LF\nline");
    expect(decodeQuotedPrintable(b("pad = \r\nx")).toString("latin1")).toBe("pad x");
  });

  test("an = not followed by two hex digits is an error, not a literal", () => {
    for (const bad of ["=ZZ", "a=4", "=\tx", "x=G1"]) expect(() => decodeQuotedPrintable(b(bad))).toThrow(TransferError);
  });

  test("encodes with lines of at most 76 characters and decodes back (libqp agrees)", () => {
    const text = Buffer.from(`${"word=value ".repeat(40)}\r\n-- starts with dashes\r\ntrailing space \r\n${"é".repeat(100)}`, "utf8");
    for (const eol of ["\r\n", "\n"]) {
      const enc = encodeQuotedPrintable(text, eol);
      expect(Math.max(...lineLengths(enc))).toBeLessThanOrEqual(76);
      expect(enc.toString("latin1")).not.toMatch(/(^|\n)--/);
      if (eol === "\n") expect(enc.includes(0x0d)).toBe(false);
      const want = eol === "\n" ? text.toString("latin1").replace(/\r\n/g, "\n") : text.toString("latin1");
      expect(decodeQuotedPrintable(enc).toString("latin1")).toBe(want);
      expect(qpDecode(enc).toString("latin1")).toBe(want);
    }
  });
});

test("quoted-printable: random bytes, blanks and dashes at every position round-trip within 76 characters", () => {
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const alphabet = [0x20, 0x09, 0x2d, 0x3d, 0x41, 0x7a, 0x00, 0x7f, 0xe9, 0xff, 0x0d, 0x0a, 0x2e];
  for (let k = 0; k < 300; k++) {
    const bytes = Buffer.from(Array.from({ length: rand(400) }, () => alphabet[rand(alphabet.length)]!));
    for (const eol of ["\r\n", "\n"]) {
      const enc = encodeQuotedPrintable(bytes, eol);
      expect(Math.max(0, ...lineLengths(enc))).toBeLessThanOrEqual(76);
      expect(enc.toString("latin1")).not.toMatch(/(^|\n)-/);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: tab, LF and CR are the only controls allowed
      expect(/[^\x09\x0a\x0d\x20-\x7e]/.test(enc.toString("latin1"))).toBe(false);
      const want = bytes.toString("latin1").replace(/\r\n|\r|\n/g, eol);
      expect(decodeQuotedPrintable(enc).toString("latin1")).toBe(want);
      expect(qpDecode(enc).toString("latin1")).toBe(want);
    }
  }
});

describe("base64", () => {
  test("decodes wrapped base64 and rejects anything else", () => {
    expect(decodeBase64(b("aGVs\r\nbG8=\r\n")).toString()).toBe("hello");
    expect(decodeBase64(b("aGVsbG8")).toString()).toBe("hello"); // no padding: encoders do this
    for (const bad of ["aGVs*G8=", "aGVsbG8=x", "a", "aGVsb=8=", "aGV=bG8="]) expect(() => decodeBase64(b(bad))).toThrow(TransferError);
  });

  test("encodes at 76 characters a line, with the part's line ends", () => {
    const data = Buffer.alloc(1000, 7);
    const enc = encodeBase64(data, "\n");
    expect(
      lineLengths(enc)
        .slice(0, -1)
        .every((n) => n === 76),
    ).toBe(true);
    expect(enc.includes(0x0d)).toBe(false);
    expect(decodeBase64(enc).equals(data)).toBe(true);
  });
});

describe("7bit, 8bit and binary", () => {
  test("stay as they are when every line fits", () => {
    const r = encodeTransfer("8bit", b("<p>\xe9</p>\nnext"), "\r\n", true);
    expect(r).toEqual({ encoded: b("<p>\xe9</p>\r\nnext"), encoding: "8bit" });
  });

  test("become quoted-printable for a line over 998 octets, a line starting with --, a NUL, or new 8-bit bytes in 7bit", () => {
    const cases: [Buffer, "7bit" | "8bit" | "binary", boolean, string][] = [
      [b("x".repeat(999)), "8bit", false, "998"],
      [b("ok\r\n--boundary\r\n"), "7bit", false, "--"],
      [b("a\0b"), "binary", false, "NUL"],
      [b("caf\xe9"), "7bit", false, "8-bit"],
    ];
    for (const [bytes, enc, had8bit, why] of cases) {
      const r = encodeTransfer(enc, bytes, "\r\n", had8bit);
      expect(r.encoding).toBe("quoted-printable");
      expect(r.why).toContain(why);
      expect(Math.max(...lineLengths(r.encoded))).toBeLessThanOrEqual(76);
    }
    // 8-bit bytes a 7bit part already carried are not new: the label stays
    expect(encodeTransfer("7bit", b("caf\xe9"), "\r\n", true).encoding).toBe("7bit");
    // exactly 998 is allowed
    expect(encodeTransfer("7bit", b("y".repeat(998)), "\r\n", false).encoding).toBe("7bit");
  });

  test("the encoding label is read case-insensitively; others are refused", () => {
    expect(transferEncoding("Quoted-Printable ")).toBe("quoted-printable");
    expect(transferEncoding(false)).toBe("7bit");
    expect(() => transferEncoding("x-uuencode")).toThrow(TransferError);
    expect(() => transferEncoding('"base64"')).toThrow(TransferError);
  });
});

describe("charsets", () => {
  test("single-byte charsets round-trip every byte they map", () => {
    for (const label of ["iso-8859-1", "windows-1252", "iso-8859-2", "windows-1251", "koi8-r", "iso-8859-15"]) {
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const cs = charsetFor(label, all);
      const mapped = Buffer.from([...all].filter((byte) => iconv.encode(iconv.decode(Buffer.from([byte]), label), label)[0] === byte));
      expect(decodeText(cs, mapped).length).toBe(mapped.length);
      expect(encodeText(cs, decodeText(cs, mapped)).equals(mapped)).toBe(true);
    }
  });

  test("multi-byte charsets iconv-lite writes round-trip text", () => {
    for (const [label, text] of [
      ["shift_jis", "東京タワー"],
      ["euc-kr", "서울"],
      ["gb18030", "北京"],
      ["big5", "臺北"],
    ]) {
      const bytes = iconv.encode(text!, label!);
      const cs = charsetFor(label!, bytes);
      expect(decodeText(cs, bytes)).toBe(text!);
      expect(encodeText(cs, `${text}<img>`).equals(Buffer.concat([bytes, b("<img>")]))).toBe(true);
    }
  });

  test("unknown, stateful and ASCII-incompatible charsets are refused", () => {
    for (const label of ["x-unknown", "iso-2022-jp", "utf-16le", "utf-7", "utf-32"]) {
      expect(() => charsetFor(label, b("x"))).toThrow(CharsetError);
    }
  });

  test("us-ascii and an absent charset keep 8-bit bytes exactly", () => {
    const latin = b("caf\xe9 \x80");
    expect(encodeText(charsetFor("US-ASCII", latin), decodeText(charsetFor("US-ASCII", latin), latin)).equals(latin)).toBe(true);
    expect(charsetFor(false, latin).name).toBe("(none)");
    expect(charsetFor(false, Buffer.from("café", "utf8")).name).toBe("utf-8");
  });

  test("bytes that do not survive a round trip, and text a charset cannot hold, are errors", () => {
    expect(() => decodeText(charsetFor("utf-8", b("\xc3\x28")), b("\xc3\x28"))).toThrow(CharsetError);
    expect(() => encodeText(charsetFor("iso-8859-1", b("")), "東")).toThrow(CharsetError);
    // a UTF-8 byte order mark stays
    const bom = Buffer.from("\ufeff<p>x</p>", "utf8");
    expect(encodeText(charsetFor("utf-8", bom), decodeText(charsetFor("utf-8", bom), bom)).equals(bom)).toBe(true);
  });
});
