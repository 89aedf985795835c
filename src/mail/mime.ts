// A message as mailsplit's chunks, back to bytes, and the structure checks mailsplit leaves
// to its users. mailsplit's Splitter turns bytes into a flat list — each part's header block
// (a MimeNode), its body bytes, and the multipart "data" between parts (boundaries,
// preambles, epilogues) — whose Joiner output is the input byte for byte. It is lenient, as
// a reader must be; a writer that changes mail must not be, so a message that only a lenient
// reader makes sense of is reported here and left alone.
import { finished } from "node:stream";
import { Splitter, type MimeNode } from "@zone-eu/mailsplit";

export type BodyChunk = { type: "body" | "data"; node: MimeNode; value: Buffer };
export type Chunk = MimeNode | BodyChunk;

export class MimeError extends Error {
  override name = "MimeError";
}

/**
 * The chunks of header + body. Attached messages (message/rfc822) stay single leaves:
 * nothing inside them is ever parsed, so nothing inside them can be rewritten. Rejects
 * with MimeError on a part header over 1 MiB or more than 1000 parts (mailsplit's limits).
 */
export function splitChunks(header: Buffer, body: Buffer, signal: AbortSignal): Promise<Chunk[]> {
  return new Promise((resolve, reject) => {
    const splitter = new Splitter({ ignoreEmbedded: true });
    const chunks: Chunk[] = [];
    const onAbort = () => {
      splitter.destroy();
      reject(new MimeError("aborted"));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    splitter.on("data", (c) => chunks.push(c as Chunk));
    finished(splitter, (err) => {
      signal.removeEventListener("abort", onAbort);
      if (err) reject(new MimeError(`mailsplit: ${err.message}`));
      else resolve(chunks);
    });
    splitter.write(header);
    if (body.length > 0) splitter.write(body);
    splitter.end();
  });
}

/** Bytes from chunks as mailsplit's Joiner gives them — a node's header block, a body or data
 *  chunk's value, a Buffer as it is (a part's replaced header block) — without a stream per
 *  message: the Joiner is exactly this loop inside a Transform. */
export function joinChunks(chunks: readonly (Chunk | Buffer)[]): Buffer {
  const out: Buffer[] = [];
  for (const c of chunks) {
    if (Buffer.isBuffer(c)) out.push(c);
    else if (c.type === "node") out.push(c.getHeaders());
    else if (c.value) out.push(c.value);
  }
  return Buffer.concat(out);
}

/**
 * Whether the chunks join to exactly header + body, checked piece by piece without building
 * the message again. mailsplit's promise has gaps on broken input (a part whose header block
 * is ended by a boundary instead of an empty line comes out twice), so a rewrite trusts a
 * split only once it is proven to give the input back.
 */
export function reproduces(chunks: readonly Chunk[], header: Buffer, body: Buffer): boolean {
  const total = header.length + body.length;
  let at = 0;
  const matches = (piece: Buffer): boolean => {
    let i = 0;
    while (i < piece.length) {
      if (at >= total) return false;
      const [src, off] = at < header.length ? [header, at] : [body, at - header.length];
      const n = Math.min(piece.length - i, src.length - off);
      if (!piece.subarray(i, i + n).equals(src.subarray(off, off + n))) return false;
      i += n;
      at += n;
    }
    return true;
  };
  for (const c of chunks) if (!matches(isNode(c) ? c.getHeaders() : c.value)) return false;
  return at === total;
}

export const isNode = (c: Chunk | Buffer): c is MimeNode => !Buffer.isBuffer(c) && c.type === "node";

/** Closing delimiters ("--boundary--") found in the multipart data, boundary text only. */
function closedBoundaries(chunks: readonly Chunk[]): Set<string> {
  const closed = new Set<string>();
  for (const c of chunks) {
    if (c.type !== "data") continue;
    for (const line of c.value.toString("latin1").split("\n")) {
      const l = line.replace(/[ \t\r]+$/, "");
      if (l.length > 4 && l.startsWith("--") && l.endsWith("--")) closed.add(l.slice(2, -2));
    }
  }
  return closed;
}

/**
 * Why the message's MIME structure is not one to rewrite (null: it is): a multipart with
 * no usable boundary or never closed by its closing delimiter, a part with two
 * Content-Type or Content-Transfer-Encoding headers (readers disagree on which counts), or
 * parts inside a part that is not multipart (mailsplit splits any part with a boundary
 * parameter; a mail client shows a text/html part with one as a single page).
 */
export function structureProblem(chunks: readonly Chunk[]): string | null {
  let closed: Set<string> | null = null;
  for (const c of chunks) {
    if (!isNode(c)) continue;
    if (c.parentNode && !c.parentNode.multipart) return `a ${c.parentNode.contentType} part is split into parts`;
    const headers = c.headers;
    if (headers) {
      if (headers.get("content-type").length > 1) return "a part has two Content-Type headers";
      if (headers.get("content-transfer-encoding").length > 1) return "a part has two Content-Transfer-Encoding headers";
    }
    if (!c.multipart) continue;
    if (!c._boundary) return `a multipart/${c.multipart} part has no usable boundary`;
    closed ??= closedBoundaries(chunks);
    if (!closed.has(c._boundary.toString("latin1")))
      return `the multipart/${c.multipart} part with boundary "${c._boundary}" is never closed`;
  }
  return null;
}

/** A multipart/signed or /encrypted part, or an attached message, above `node`. */
export function sealedAncestor(node: MimeNode): string | null {
  for (let p = node.parentNode; p; p = p.parentNode) {
    if (p.multipart === "signed" || p.multipart === "encrypted") return `multipart/${p.multipart}`;
    if (p.rfc822) return "message/rfc822";
  }
  return null;
}

/** The part's line end, from the empty line that ends its header block; null when the
 *  block has none (a part cut short by a boundary). */
export function partEol(node: MimeNode): "\r\n" | "\n" | null {
  const h = node.getHeaders();
  const n = h.length;
  if (n >= 4 && h.subarray(n - 4).toString("latin1") === "\r\n\r\n") return "\r\n";
  if (n >= 2 && h[n - 1] === 0x0a && h[n - 2] === 0x0a) return "\n";
  if (n === 2 && h[0] === 0x0d && h[1] === 0x0a) return "\r\n";
  if (n === 1 && h[0] === 0x0a) return "\n";
  return null;
}
