// Complete lines from a byte offset of an open file, with the offset after the last one.
// A line ends at "\n" (a "\r" before it is dropped); bytes after the last "\n" are not a
// line yet. Bytes are decoded as UTF-8 with invalid sequences replaced by U+FFFD, never an
// exception. A line longer than maxLineBytes is not kept: it becomes overlongLine(limit), which
// no parser understands (so it is counted as not understood, and shown as such), and its bytes
// are skipped up to its "\n" — a 10 MB line costs no more memory than a 64 KB one.

import type { FileHandle } from "node:fs/promises";

export type LineLimits = { maxLines: number; maxLineBytes: number };
export type ReadLines = { lines: string[]; end: number; truncated: number };

const NL = 10;

/** The longest line hookd reads (the tailer's default, and `hookd parse`'s). */
export const MAX_LINE_BYTES = 64 * 1024;

/** What an over-long line is replaced with: counted as not understood, never parsed in part. */
export function overlongLine(maxBytes: number = MAX_LINE_BYTES): string {
  return `[hookd: a line longer than ${maxBytes} bytes, skipped]`;
}
const CR = 13;
const decoder = new TextDecoder("utf-8", { fatal: false });

/** Cuts at most `max` bytes from bytes[start..] without splitting a UTF-8 sequence. */

/** Decodes bytes[start, end) — the line without its "\n" — capped at maxBytes. */
export function decodeLine(bytes: Uint8Array, start: number, end: number, maxBytes: number): { text: string; truncated: boolean } {
  if (end > start && bytes[end - 1] === CR) end--;
  if (end - start <= maxBytes) return { text: decoder.decode(bytes.subarray(start, end)), truncated: false };
  return { text: overlongLine(maxBytes), truncated: true };
}

async function readAt(fh: FileHandle, buf: Uint8Array, position: number): Promise<number> {
  const { bytesRead } = await fh.read(buf, 0, buf.length, position);
  return bytesRead;
}

/**
 * Reads once at `offset` into `buf` and returns the complete lines in it (at most
 * limits.maxLines). No lines means no complete line after `offset` yet. A line longer than
 * `buf` is found by reading on (only its head is kept) and returned alone.
 */
export async function readLines(fh: FileHandle, offset: number, buf: Uint8Array, limits: LineLimits): Promise<ReadLines> {
  const got = await readAt(fh, buf, offset);
  const view = buf.subarray(0, got);
  const lines: string[] = [];
  let truncated = 0;
  let start = 0;
  while (lines.length < limits.maxLines) {
    const nl = view.indexOf(NL, start);
    if (nl < 0) break;
    const line = decodeLine(view, start, nl, limits.maxLineBytes);
    lines.push(line.text);
    if (line.truncated) truncated++;
    start = nl + 1;
  }
  if (lines.length > 0 || got < buf.length) return { lines, end: offset + start, truncated };
  return readLongLine(fh, offset, buf, limits.maxLineBytes);
}

/** buf holds the first buf.length bytes of a line with no "\n" yet: find where it ends. */
async function readLongLine(fh: FileHandle, offset: number, buf: Uint8Array, maxBytes: number): Promise<ReadLines> {
  const head = new Uint8Array(maxBytes + 1); // the part kept, plus one byte for a final "\r"
  let kept = 0;
  const keep = (bytes: Uint8Array) => {
    const n = Math.min(bytes.length, head.length - kept);
    head.set(bytes.subarray(0, n), kept);
    kept += n;
  };
  keep(buf);
  let pos = offset + buf.length;
  let last = buf[buf.length - 1] ?? 0;
  for (;;) {
    const got = await readAt(fh, buf, pos);
    if (got === 0) return { lines: [], end: offset, truncated: 0 }; // still incomplete
    const view = buf.subarray(0, got);
    const nl = view.indexOf(NL);
    keep(nl < 0 ? view : view.subarray(0, nl));
    if (nl >= 0) {
      let length = pos + nl - offset;
      if ((nl > 0 ? view[nl - 1] : last) === CR) length--;
      const truncated = length > maxBytes;
      const text = truncated ? overlongLine(maxBytes) : decoder.decode(head.subarray(0, length));
      return { lines: [text], end: pos + nl + 1, truncated: truncated ? 1 : 0 };
    }
    last = view[got - 1] ?? 0;
    pos += got;
  }
}

/**
 * The last line of a file that will not grow any more (rotated away), which never got its
 * "\n": bytes [offset, size). "more" when a "\n" turned up after all (read lines instead).
 */
export async function readFinalLine(
  fh: FileHandle,
  offset: number,
  size: number,
  maxBytes: number,
): Promise<{ text: string; truncated: boolean } | "more" | null> {
  if (size <= offset) return null;
  const buf = new Uint8Array(Math.min(size - offset, maxBytes + 1));
  const got = await readAt(fh, buf, offset);
  const view = buf.subarray(0, got);
  if (view.includes(NL)) return "more";
  if (got === 0) return null;
  const line = decodeLine(view, 0, got, maxBytes);
  return { text: line.text, truncated: line.truncated || size - offset > maxBytes + 1 };
}
