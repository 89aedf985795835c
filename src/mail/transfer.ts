// Content-Transfer-Encoding of one part: strict decoding (a part whose encoding is not
// exactly readable is left alone rather than guessed at) and encoding that keeps the
// line rules: quoted-printable and base64 lines of at most 76 characters, 7bit/8bit/binary
// lines of at most 998 octets. Pure; line ends are the part's own ("\r\n" or "\n").

export type TransferEncoding = "7bit" | "8bit" | "binary" | "quoted-printable" | "base64";

export class TransferError extends Error {
  override name = "TransferError";
  constructor(
    readonly reason: "unsupported_transfer_encoding" | "decode_failed",
    message: string,
  ) {
    super(message);
  }
}

/** The part's encoding from its Content-Transfer-Encoding value (false or "": none, i.e. 7bit). */
export function transferEncoding(value: string | false): TransferEncoding {
  const v = (value || "7bit").trim().toLowerCase();
  if (v === "7bit" || v === "8bit" || v === "binary" || v === "quoted-printable" || v === "base64") return v;
  throw new TransferError("unsupported_transfer_encoding", `Content-Transfer-Encoding ${JSON.stringify(value)} is not one hookd rewrites`);
}

const hex = (c: number) => (c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1);

/** RFC 2045 6.7: "=XX" escapes, "=" before a line end is a soft break, trailing blanks are
 *  transport padding. An "=" followed by anything else is an error, not a literal. */
export function decodeQuotedPrintable(input: Buffer): Buffer {
  const out = Buffer.allocUnsafe(input.length);
  let o = 0;
  let lineStart = 0;
  while (lineStart < input.length) {
    const nl = input.indexOf(0x0a, lineStart);
    const hasBreak = nl >= 0;
    let end = hasBreak ? nl : input.length;
    const breakStart = hasBreak && end > lineStart && input[end - 1] === 0x0d ? end - 1 : end;
    end = breakStart;
    while (end > lineStart && (input[end - 1] === 0x20 || input[end - 1] === 0x09)) end--;
    let soft = false;
    for (let i = lineStart; i < end; i++) {
      const c = input[i]!;
      if (c !== 0x3d) {
        out[o++] = c;
        continue;
      }
      if (i === end - 1) {
        soft = true;
        break;
      }
      const hi = hex(input[i + 1]!);
      const lo = i + 2 < end ? hex(input[i + 2]!) : -1;
      if (hi < 0 || lo < 0) throw new TransferError("decode_failed", `quoted-printable: "=" not followed by two hex digits at byte ${i}`);
      out[o++] = hi * 16 + lo;
      i += 2;
    }
    if (hasBreak && !soft) for (let i = breakStart; i <= nl; i++) out[o++] = input[i]!;
    lineStart = hasBreak ? nl + 1 : input.length;
  }
  return out.subarray(0, o);
}

/** Base64 with line breaks and blanks between the characters; anything else, a misplaced
 *  "=" or a length no encoder produces is an error. */
export function decodeBase64(input: Buffer): Buffer {
  const s = input.toString("latin1").replace(/[\r\n\t ]+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 === 1 || (s.includes("=") && s.length % 4 !== 0)) {
    throw new TransferError("decode_failed", "base64: characters outside the alphabet, or a truncated group");
  }
  return Buffer.from(s, "base64");
}

export function decodeTransfer(enc: TransferEncoding, body: Buffer): Buffer {
  if (enc === "base64") return decodeBase64(body);
  if (enc === "quoted-printable") return decodeQuotedPrintable(body);
  return body;
}

/** Text line breaks (CRLF, lone CR or LF) → `eol`: a text part's canonical form. */
export function normalizeLineEnds(bytes: Buffer, eol: string): Buffer {
  const s = bytes.toString("latin1");
  const n = s.replace(/\r\n|\r|\n/g, eol);
  return n === s ? bytes : Buffer.from(n, "latin1");
}

export function encodeBase64(bytes: Buffer, eol: string): Buffer {
  const s = bytes.toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < s.length; i += 76) lines.push(s.slice(i, i + 76));
  return Buffer.from(lines.join(eol), "latin1");
}

const HEX = "0123456789ABCDEF";

/**
 * Quoted-printable (RFC 2045 6.7) with lines of at most 76 characters, in one pass over the
 * bytes (libqp's encode-then-wrap took a fifth of a newsletter's rewrite). Escaped: "=", bytes
 * outside printable ASCII but tab, a blank that ends a line, and a "-" that starts one (so no
 * encoded line can read as a MIME boundary). Line ends in the input (CRLF, LF or CR) are hard
 * breaks, written as `eol`; soft breaks ("=" + eol) go wherever a line would pass 76.
 */
export function encodeQuotedPrintable(bytes: Buffer, eol: string): Buffer {
  const e0 = eol.charCodeAt(0);
  const e1 = eol.length > 1 ? eol.charCodeAt(1) : -1;
  // Worst case: every byte escaped, plus a soft break for every 25 escapes.
  const out = Buffer.allocUnsafe(bytes.length * 3 + Math.ceil(bytes.length / 25) * (1 + eol.length) + eol.length);
  let o = 0;
  let col = 0;
  const lineEnd = () => {
    out[o++] = e0;
    if (e1 >= 0) out[o++] = e1;
    col = 0;
  };
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    const c = bytes[i]!;
    if (c === 0x0d || c === 0x0a) {
      if (c === 0x0d && bytes[i + 1] === 0x0a) i++;
      lineEnd();
      continue;
    }
    const next = i + 1 < n ? bytes[i + 1]! : 0x0a;
    const endsLine = next === 0x0d || next === 0x0a;
    const needsEscape =
      c === 0x3d || (c < 0x20 && c !== 0x09) || c > 0x7e || ((c === 0x20 || c === 0x09) && endsLine) || (c === 0x2d && col === 0);
    const width = needsEscape ? 3 : 1;
    // Room for the character and, unless the line ends right after it, a soft break's "=".
    if (col + width > (endsLine ? 76 : 75)) {
      out[o++] = 0x3d;
      lineEnd();
      if (c === 0x2d) {
        // now at the start of a line: a "-" is escaped there
        out[o++] = 0x3d;
        out[o++] = 0x32;
        out[o++] = 0x44;
        col = 3;
        continue;
      }
    }
    if (needsEscape) {
      out[o++] = 0x3d;
      out[o++] = HEX.charCodeAt(c >> 4);
      out[o++] = HEX.charCodeAt(c & 15);
    } else out[o++] = c;
    col += width;
  }
  return out.subarray(0, o);
}

/** Why `bytes` cannot go out as 7bit/8bit/binary text (null: it can). `had8bit`: the
 *  original part already carried 8-bit bytes under its label, so they are not new. */
export function unfitForIdentity(bytes: Buffer, enc: "7bit" | "8bit" | "binary", had8bit: boolean): string | null {
  let lineStart = 0;
  for (let i = 0; i <= bytes.length; i++) {
    const c = i < bytes.length ? bytes[i]! : 0x0a;
    if (c === 0x0a) {
      let end = i;
      if (end > lineStart && bytes[end - 1] === 0x0d) end--;
      if (end - lineStart > 998) return "a line longer than 998 octets";
      if (bytes[lineStart] === 0x2d && bytes[lineStart + 1] === 0x2d && end - lineStart >= 2) return 'a line starting with "--"';
      lineStart = i + 1;
    } else if (c === 0) return "a NUL byte";
    else if (c >= 0x80 && enc === "7bit" && !had8bit) return "8-bit bytes in a 7bit part";
  }
  return null;
}

/** `bytes` (already in the part's charset) in the part's encoding, or in quoted-printable
 *  when the part's own would break a line rule; `encoding` says which was used. */
export function encodeTransfer(
  enc: TransferEncoding,
  bytes: Buffer,
  eol: string,
  had8bit: boolean,
): { encoded: Buffer; encoding: TransferEncoding; why?: string } {
  if (enc === "base64") return { encoded: encodeBase64(bytes, eol), encoding: enc };
  if (enc === "quoted-printable") return { encoded: encodeQuotedPrintable(bytes, eol), encoding: enc };
  const text = normalizeLineEnds(bytes, eol);
  const why = unfitForIdentity(text, enc, had8bit);
  if (why === null) return { encoded: text, encoding: enc };
  return { encoded: encodeQuotedPrintable(bytes, eol), encoding: "quoted-printable", why };
}
