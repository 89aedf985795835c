import PostalMime, { decodeWords } from "postal-mime";
import { type Field, cut } from "./fields.ts";

// One message read once by postal-mime, reduced to what the report parsers look at. postal-mime
// gives the top-level headers, the text/plain (or HTML) body, and every other leaf as an
// "attachment" with its transfer encoding undone. Report parts (message/delivery-status,
// message/feedback-report, text/rfc822-headers) are never text/plain, so they come out as
// attachments with their bytes as sent. A message/rfc822 part would be parsed inline and
// rendered into the body text — its headers lost — so forceRfc822Attachments keeps it as raw
// bytes; the parsers read its header block themselves (fields.ts).

/** A non-text leaf: its MIME type (lower-cased, parameters dropped) and its content as text. */
export interface MailPart {
  type: string;
  text: string;
}

export interface Mail {
  headers: Field[];
  /** Lower-cased MIME type of the message, e.g. "multipart/report". */
  contentType: string;
  /** report-type parameter of a multipart/report, lower-cased. */
  reportType?: string;
  subject?: string;
  /** The readable body: text/plain parts, or the HTML with its tags dropped when there is none. */
  text: string;
  parts: MailPart[];
  size: number;
}

export type ReadResult = { ok: true; mail: Mail } | { ok: false; reason: string };

export interface ReadLimits {
  /** Bytes read at most; a longer message is cut there (the report parts come first). */
  maxBytes: number;
  /** Characters kept of a part: report parts are small, returned messages need only headers. */
  maxPartChars: number;
  maxParts: number;
}

export const DEFAULT_READ_LIMITS: ReadLimits = { maxBytes: 4 * 1024 * 1024, maxPartChars: 256 * 1024, maxParts: 50 };

const utf8 = new TextDecoder("utf-8", { fatal: false });

/** Reads a raw message. Never throws: a message postal-mime refuses is `{ok: false, reason}`. */
export async function readMail(raw: Uint8Array, limits: ReadLimits = DEFAULT_READ_LIMITS): Promise<ReadResult> {
  const bytes = raw.byteLength > limits.maxBytes ? raw.subarray(0, limits.maxBytes) : raw;
  let email: Awaited<ReturnType<typeof PostalMime.parse>>;
  try {
    email = await PostalMime.parse(bytes, {
      forceRfc822Attachments: true,
      attachmentEncoding: "arraybuffer",
      maxNestingDepth: 32,
      maxHeadersSize: 1024 * 1024,
      maxPartCount: 500,
      maxRfc822NestingDepth: 0,
    });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return { ok: false, reason: `unreadable MIME: ${typeof code === "string" ? code : "parser error"}` };
  }
  const headers: Field[] = email.headers.slice(0, 500).map((h) => ({ name: h.key.trim(), value: cut(h.value.trim(), 8192) }));
  const ctype = headers.find((h) => h.name === "content-type")?.value ?? "";
  const reportType = /report-type\s*=\s*"?([A-Za-z0-9._-]+)/i.exec(ctype)?.[1]?.toLowerCase();
  const parts: MailPart[] = [];
  for (const a of email.attachments) {
    if (parts.length >= limits.maxParts) break;
    const content = a.content;
    const view = typeof content === "string" ? undefined : content instanceof Uint8Array ? content : new Uint8Array(content);
    const text = view
      ? utf8.decode(view.byteLength > limits.maxPartChars ? view.subarray(0, limits.maxPartChars) : view)
      : cut(String(content), limits.maxPartChars);
    parts.push({ type: a.mimeType.split(";")[0]!.trim().toLowerCase(), text });
  }
  const text = email.text ?? (email.html ? htmlText(email.html) : parts.length === 0 ? rawBody(bytes, limits.maxPartChars) : "");
  const subject = email.subject;
  return {
    ok: true,
    mail: {
      headers,
      contentType: (ctype.split(";")[0] ?? "").trim().toLowerCase() || "text/plain",
      reportType,
      subject: subject === undefined ? undefined : cut(subject, 998),
      text: cut(text, limits.maxPartChars),
      parts,
      size: raw.byteLength,
    },
  };
}

/** A header value with RFC 2047 encoded words decoded; the raw value when decoding fails. */
export function decoded(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  try {
    return decodeWords(v);
  } catch {
    return v;
  }
}

/**
 * The body as bytes when postal-mime found nothing in it: a multipart whose parts do not use the
 * boundary its header declares (seen in real bounces) still has a readable notice in it.
 */
function rawBody(bytes: Uint8Array, max: number): string {
  const head = utf8.decode(bytes.byteLength > max * 2 ? bytes.subarray(0, max * 2) : bytes);
  const end = /\r?\n\r?\n/.exec(head);
  return end ? cut(head.slice(end.index + end[0].length), max) : "";
}

/**
 * HTML reduced to its text: enough for the pattern table to read an HTML-only bounce. A scan
 * with indexOf rather than a tag regex, which backtracks quadratically on a run of "<".
 */
function htmlText(html: string): string {
  const src = cut(html, 1024 * 1024);
  let out = "";
  let i = 0;
  while (i < src.length) {
    const lt = src.indexOf("<", i);
    if (lt === -1) {
      out += src.slice(i);
      break;
    }
    out += src.slice(i, lt);
    const gt = src.indexOf(">", lt);
    if (gt === -1) break;
    const tag = src.slice(lt + 1, Math.min(gt, lt + 8)).toLowerCase();
    if (/^(br|\/p|\/div|\/tr|\/li|p[\s>]|p$)/.test(tag)) out += "\n";
    i = gt + 1;
  }
  return out
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&nbsp;/g, " ")
    .replace(/&amp;/g, "&");
}
