// Rewrite a message's HTML parts and nothing else. Every text/html part that a mail client
// shows as the message (top level, or inside multipart/alternative, /related, /mixed at any
// depth) is decoded, handed to the injected rewrite, and encoded back in its own charset and
// transfer encoding; every other byte — other parts, attachments, boundaries, preambles,
// epilogues, part headers — comes out as it came in. Not rewritten: HTML files attached
// (Content-Disposition: attachment), HTML inside an attached message (message/rfc822) and
// anything under multipart/signed or /encrypted (a signature over it would break).
//
// Never break mail: this never throws. Anything unexpected is an "unchanged" outcome with a
// reason, for the milter to accept the message as it is and count why.
import type { MimeNode } from "@zone-eu/mailsplit";
import { CharsetError, charsetFor, decodeText, encodeText } from "./charset.ts";
import { type MailHeaderEdit, fieldKey, parseHeaderBlock } from "./headers.ts";
import { formatField } from "./header-edits.ts";
import { type Chunk, MimeError, isNode, joinChunks, partEol, reproduces, sealedAncestor, splitChunks, structureProblem } from "./mime.ts";
import { TransferError, decodeTransfer, encodeTransfer, transferEncoding } from "./transfer.ts";

/** The HTML of one part → its replacement; null (or the same text) leaves the part as it is. */
export type RewriteHtml = (html: string) => string | null | Promise<string | null>;

export type PartsLimits = {
  /** Header + body bytes above which the message is not looked at. */
  maxBytes: number;
  /** Longest the whole rewrite may take, the callback included. */
  timeoutMs: number;
  /** Aborts the rewrite (e.g. the milter's own timeout); the outcome is then "timeout". */
  signal?: AbortSignal;
};

export const DEFAULT_PARTS_LIMITS: PartsLimits = { maxBytes: 32 * 1024 * 1024, timeoutMs: 10_000 };

export const UNCHANGED_REASONS = [
  "no_html",
  "not_rewritten",
  "too_large",
  "timeout",
  "dkim_signed",
  "sealed",
  "malformed_mime",
  "unsupported_transfer_encoding",
  "decode_failed",
  "unknown_charset",
  "charset_roundtrip",
  "unencodable",
  "rewrite_failed",
  "internal_error",
] as const;
export type UnchangedReason = (typeof UNCHANGED_REASONS)[number];

export type PartsOutcome =
  | {
      changed: true;
      /** The whole new body (everything after the header block). */
      body: Buffer;
      /** Top-level header edits (a top-level HTML part that had to become quoted-printable). */
      headers: MailHeaderEdit[];
      /** How many HTML parts were rewritten. */
      rewritten: number;
    }
  | { changed: false; reason: UnchangedReason; detail: string };

class Unchanged extends Error {
  constructor(
    readonly reason: UnchangedReason,
    detail: string,
  ) {
    super(detail);
  }
}

const startsLine = (b: Buffer) => b.length === 0 || b[0] === 0x0a || b[0] === 0x0d;
const endsLine = (b: Buffer) => b.length > 0 && b[b.length - 1] === 0x0a;

const unchanged = (reason: UnchangedReason, detail: string): PartsOutcome => ({ changed: false, reason, detail });

/** What a rewrite of `header` + `body` gives; never throws, never rejects. */
export async function rewriteHtmlParts(
  message: { header: Buffer; body: Buffer },
  rewrite: RewriteHtml,
  limits: PartsLimits = DEFAULT_PARTS_LIMITS,
): Promise<PartsOutcome> {
  const size = message.header.length + message.body.length;
  if (size > limits.maxBytes) return unchanged("too_large", `message of ${size} bytes is over the limit of ${limits.maxBytes}`);
  const ac = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onOuterAbort: (() => void) | undefined;
  const stopped = new Promise<PartsOutcome>((resolve) => {
    const stop = (detail: string) => {
      ac.abort();
      resolve(unchanged("timeout", detail));
    };
    timer = setTimeout(() => stop(`no result within ${limits.timeoutMs}ms`), limits.timeoutMs);
    onOuterAbort = () => stop("aborted by the caller");
    if (limits.signal?.aborted) onOuterAbort();
    else limits.signal?.addEventListener("abort", onOuterAbort, { once: true });
  });
  const work = rewriteParts(message, rewrite, ac.signal).catch(toOutcome);
  try {
    return await Promise.race([work, stopped]);
  } finally {
    clearTimeout(timer);
    if (onOuterAbort) limits.signal?.removeEventListener("abort", onOuterAbort);
    ac.abort(); // a lost race stops the work at its next step
  }
}

function toOutcome(err: unknown): PartsOutcome {
  if (err instanceof Unchanged) return unchanged(err.reason, err.message);
  if (err instanceof CharsetError || err instanceof TransferError) return unchanged(err.reason, err.message);
  if (err instanceof MimeError) return unchanged("malformed_mime", err.message);
  return unchanged("internal_error", err instanceof Error ? `${err.name}: ${err.message}` : String(err));
}

async function rewriteParts(message: { header: Buffer; body: Buffer }, rewrite: RewriteHtml, signal: AbortSignal): Promise<PartsOutcome> {
  const top = parseHeaderBlock(message.header);
  if (top.some((f) => fieldKey(f.name) === "dkim-signature")) {
    return unchanged("dkim_signed", "the message is already DKIM-signed; a new body would break the signature");
  }
  const chunks = await splitChunks(message.header, message.body, signal);
  if (!reproduces(chunks, message.header, message.body))
    return unchanged("malformed_mime", "mailsplit does not give this message back byte for byte");
  const problem = structureProblem(chunks);
  if (problem) return unchanged("malformed_mime", problem);

  const html = chunks.filter(
    (c): c is MimeNode => isNode(c) && c.contentType === "text/html" && !c.multipart && c.disposition !== "attachment",
  );
  const open = html.filter((n) => sealedAncestor(n) === null);
  if (open.length === 0) {
    return html.length > 0
      ? unchanged("sealed", `the HTML is inside ${sealedAncestor(html[0]!)}`)
      : unchanged("no_html", "no text/html part to rewrite");
  }

  const out: (Chunk | Buffer)[] = [];
  const headers: MailHeaderEdit[] = [];
  let rewritten = 0;
  for (let i = 0; i < chunks.length; ) {
    const c = chunks[i]!;
    let j = i + 1;
    while (j < chunks.length && chunks[j]!.type === "body" && (chunks[j] as { node: MimeNode }).node === c) j++;
    if (!isNode(c) || !open.includes(c)) {
      for (let k = i; k < j; k++) out.push(chunks[k]!);
      i = j;
      continue;
    }
    const body = Buffer.concat(chunks.slice(i + 1, j).map((b) => (b as { value: Buffer }).value));
    const part = await rewritePart(c, body, rewrite);
    if (signal.aborted) throw new Unchanged("timeout", "stopped");
    if (!part) {
      for (let k = i; k < j; k++) out.push(chunks[k]!);
    } else {
      rewritten++;
      if (part.switchedTo && c.root) headers.push(...topEncodingEdit(message.header, part.switchedTo));
      // An empty body lets the header block's empty line double as the line break before
      // the boundary; a body that now has content needs one of its own.
      const next = chunks[j];
      const body =
        next && !isNode(next) && !startsLine(next.value) && !endsLine(part.body)
          ? Buffer.concat([part.body, Buffer.from(part.eol)])
          : part.body;
      out.push(part.switchedTo && !c.root ? withEncoding(c.getHeaders(), part.switchedTo, part.eol) : c, body);
    }
    i = j;
  }
  if (rewritten === 0) return unchanged("not_rewritten", "the rewrite left every HTML part as it was");
  // The top-level header block goes out through the milter's header edits, not the body.
  const first = out[0];
  const rest = first && !Buffer.isBuffer(first) && isNode(first) && first.root ? out.slice(1) : out;
  return { changed: true, body: joinChunks(rest), headers, rewritten };
}

/** One HTML part's new body bytes (and its new transfer encoding if it had to change); null
 *  when the rewrite leaves the HTML as it was. Throws the typed errors toOutcome maps. */
async function rewritePart(
  node: MimeNode,
  body: Buffer,
  rewrite: RewriteHtml,
): Promise<{ body: Buffer; eol: string; switchedTo?: string } | null> {
  const enc = transferEncoding(node.encoding);
  const eol = partEol(node);
  if (eol === null) throw new Unchanged("malformed_mime", "an HTML part's header block has no empty line after it");
  // Line ends after the content stay as they are: at the top level they are the body's
  // last line end, which no rewrite needs to see.
  let end = body.length;
  while (end > 0 && (body[end - 1] === 0x0a || body[end - 1] === 0x0d)) end--;
  const tail = body.subarray(end);
  const bytes = decodeTransfer(enc, body.subarray(0, end));
  const charset = charsetFor(node.charset, bytes);
  const html = decodeText(charset, bytes);
  let next: string | null;
  try {
    next = await rewrite(html);
  } catch (err) {
    throw new Unchanged("rewrite_failed", `the HTML rewrite threw: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (next === null || next === html) return null;
  if (typeof next !== "string") throw new Unchanged("rewrite_failed", "the HTML rewrite returned something other than a string or null");
  const had8bit = bytes.some((b) => b >= 0x80);
  const encoded = encodeTransfer(enc, encodeText(charset, next), eol, had8bit);
  return { body: Buffer.concat([encoded.encoded, tail]), eol, ...(encoded.encoding !== enc ? { switchedTo: encoded.encoding } : {}) };
}

/** A part's header block with its Content-Transfer-Encoding set to `encoding`; every
 *  other field keeps its bytes. */
function withEncoding(block: Buffer, encoding: string, eol: string): Buffer {
  const fields = parseHeaderBlock(block);
  const field = formatField("Content-Transfer-Encoding", encoding, eol);
  const at = fields.findIndex((f) => fieldKey(f.name) === "content-transfer-encoding");
  const raws = fields.map((f) => f.raw);
  if (at >= 0) raws[at] = field;
  else raws.push(field);
  return Buffer.concat([...raws, Buffer.from(eol)]);
}

/** The milter edit that sets the top level's Content-Transfer-Encoding. */
function topEncodingEdit(header: Buffer, encoding: string): MailHeaderEdit[] {
  const has = parseHeaderBlock(header).some((f) => fieldKey(f.name) === "content-transfer-encoding");
  return [
    has
      ? { op: "change", name: "Content-Transfer-Encoding", index: 1, value: encoding }
      : { op: "add", name: "Content-Transfer-Encoding", value: encoding },
  ];
}
