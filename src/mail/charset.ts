// Text ⇄ bytes in a MIME part's charset, so that a part comes back in the charset it came in.
// iconv-lite does the work (the codec mailparser and libmime use; Bun's TextDecoder knows
// neither iso-8859-2 nor windows-1251 nor koi8-r, and no TextEncoder but UTF-8 exists).
// A codec is only trusted for a part when it gives the part's own bytes back: decode then
// encode must reproduce them exactly, otherwise the part is not touched at all.
import iconv from "iconv-lite";

export type Charset = {
  /** The label used (lower case), or "(none)" when the part named no charset. */
  name: string;
  decode(bytes: Buffer): string;
  encode(text: string): Buffer;
};

export type CharsetProblem = "unknown_charset" | "charset_roundtrip" | "unencodable";

export class CharsetError extends Error {
  override name = "CharsetError";
  constructor(
    readonly reason: CharsetProblem,
    message: string,
  ) {
    super(message);
  }
}

// Byte-transparent: every byte is one char U+0000–U+00FF and back. US-ASCII parts carry
// 8-bit bytes often enough (mislabelled mail); read this way they survive untouched.
const BINARY: Omit<Charset, "name"> = {
  decode: (b) => b.toString("latin1"),
  encode: (t) => Buffer.from(t, "latin1"),
};
const TRANSPARENT = new Set(["us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us", "646"]);
// Stateful or ASCII-incompatible encodings: a rewrite could not be trusted to leave the
// rest of the part alone, and iconv-lite has no ISO-2022-JP encoder.
const REFUSED = /^(utf-?16|utf-?32|ucs-?2|ucs-?4|utf-?7|iso-2022|hz-gb)/;

function iconvCharset(label: string): Charset {
  return {
    name: label,
    decode: (b) => iconv.decode(b, label, { stripBOM: false }),
    encode: (t) => iconv.encode(t, label, { addBOM: false }),
  };
}

/** The codec for a Content-Type charset parameter (false: none given). Throws CharsetError. */
export function charsetFor(label: string | false, sample: Buffer): Charset {
  if (label === false || label.trim() === "") return guessCharset(sample);
  const l = label.trim().toLowerCase();
  if (TRANSPARENT.has(l)) return { name: l, ...BINARY };
  if (REFUSED.test(l) || !iconv.encodingExists(l))
    throw new CharsetError("unknown_charset", `charset ${JSON.stringify(label)} is not supported`);
  return iconvCharset(l);
}

/** No charset given: ASCII and valid UTF-8 read as UTF-8 (what clients then show), anything
 *  else byte-transparent, so unknown 8-bit text is never reinterpreted. */
function guessCharset(sample: Buffer): Charset {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(sample);
    return iconvCharset("utf-8");
  } catch {
    return { name: "(none)", ...BINARY };
  }
}

/** The part's text; throws unless encoding it again gives exactly `bytes`. */
export function decodeText(cs: Charset, bytes: Buffer): string {
  const text = cs.decode(bytes);
  if (!cs.encode(text).equals(bytes))
    throw new CharsetError("charset_roundtrip", `the part's bytes do not survive a ${cs.name} round trip`);
  return text;
}

/** `text` in the part's charset; throws when a character cannot be written in it. */
export function encodeText(cs: Charset, text: string): Buffer {
  const bytes = cs.encode(text);
  if (cs.decode(bytes) !== text) throw new CharsetError("unencodable", `the rewritten HTML has characters ${cs.name} cannot hold`);
  return bytes;
}
