import { closeSync, createReadStream, openSync, readSync } from "node:fs";
import { createGunzip } from "node:zlib";
import type { Readable } from "node:stream";
import { LOG_FORMATS, type LogFormat } from "../config/log-formats.ts";
import { createLogParser, type ParserStats } from "../ingest/parse/index.ts";
import { MAX_LINE_BYTES, overlongLine } from "../ingest/line-reader.ts";
import { splitLines } from "../ingest/split-lines.ts";
import { gcPacer } from "../lib/gc-pacer.ts";
import { flag, UsageError, type ParsedArgs } from "./args.ts";
import type { IO } from "./stdio.ts";

export function formatFlag(args: ParsedArgs): LogFormat {
  const f = flag(args, "--format") ?? "auto";
  if (!(LOG_FORMATS as readonly string[]).includes(f))
    throw new UsageError(`--format: expected one of ${LOG_FORMATS.join(", ")}, got "${f}"`);
  return f as LogFormat;
}

/**
 * A file (gzip by its name) or "-" for stdin, as blocks of whole lines (the last block may end
 * without a newline): decoded in large chunks and split with indexOf, several times faster
 * than node:readline line by line, which was most of `hookd parse`'s time on a big file.
 */
export async function* openBlocks(path: string, stdin: Readable = process.stdin): AsyncGenerator<string> {
  if (path !== "-" && !path.endsWith(".gz")) {
    yield* fileBlocks(path);
    return;
  }
  const stream: AsyncIterable<Uint8Array | string> = path === "-" ? stdin : createReadStream(path).pipe(createGunzip());
  const decoder = new TextDecoder();
  let rest = "";
  let skipping = false; // inside a line over MAX_LINE_BYTES: dropped up to its newline
  for await (const chunk of stream) {
    let text = rest + (typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true }));
    if (skipping) {
      const nl = text.indexOf("\n");
      if (nl < 0) {
        rest = "";
        continue;
      }
      skipping = false;
      text = `${overlongLine()}\n${text.slice(nl + 1)}`;
    }
    const cut = text.lastIndexOf("\n") + 1;
    rest = text.slice(cut);
    if (rest.length > MAX_LINE_BYTES) {
      rest = "";
      skipping = true;
    }
    if (cut > 0) yield text.slice(0, cut);
  }
  if (skipping) rest = overlongLine();
  rest += decoder.decode();
  if (rest) yield rest;
}

/** The lines of openBlocks, a block's worth at a time. */
export async function* openLines(path: string, stdin: Readable = process.stdin): AsyncGenerator<string[]> {
  for await (const text of openBlocks(path, stdin)) {
    const lines: string[] = [];
    splitLines(text, (l) => lines.push(capped(l)));
    if (lines.length) yield lines;
  }
}

/** A line over MAX_LINE_BYTES becomes the marker no parser understands (counted as such). */
function capped(line: string): string {
  if (line.length <= MAX_LINE_BYTES / 3) return line; // ≤ 3 UTF-8 bytes per UTF-16 unit
  return Buffer.byteLength(line) > MAX_LINE_BYTES ? overlongLine() : line;
}

// Plain files are read synchronously in big blocks: a stream's small chunks and promise per
// chunk cost more than the reads. Bytes after the block's last newline wait for the next one,
// so only whole lines (and whole UTF-8 sequences: a newline byte is never inside one) are decoded.
const BLOCK = 4 << 20;

function* fileBlocks(path: string): Generator<string> {
  const fd = openSync(path, "r");
  try {
    const decoder = new TextDecoder();
    const buf: Uint8Array = new Uint8Array(BLOCK);
    let have = 0;
    for (;;) {
      if (have === buf.length) {
        // A line longer than the block: far over MAX_LINE_BYTES. Skip to its end, never hold it.
        have = 0;
        for (;;) {
          const got = readSync(fd, buf, 0, buf.length, null);
          const nl = buf.subarray(0, got).indexOf(10);
          if (got === 0 || nl >= 0) {
            yield `${overlongLine()}\n`;
            buf.copyWithin(0, nl + 1, got);
            have = got === 0 ? 0 : got - nl - 1;
            break;
          }
        }
        if (have === 0) continue;
      }
      const got = readSync(fd, buf, have, buf.length - have, null);
      const end = have + got;
      const cut = got === 0 ? end : buf.lastIndexOf(10, end - 1) + 1;
      if (cut > 0) {
        const text = decoder.decode(buf.subarray(0, cut), { stream: got !== 0 });
        if (text) yield text;
      }
      if (got === 0) return;
      buf.copyWithin(0, cut, end);
      have = end - cut;
    }
  } finally {
    closeSync(fd);
  }
}

export function summary(parser: { stats: ParserStats }, files: number): string {
  const s = parser.stats;
  const byType = Object.entries(s.events)
    .sort((a, b) => b[1] - a[1])
    .map(([t, n]) => `${t} ${n}`)
    .join(", ");
  const lines = [
    `${s.lines} lines read from ${files} file${files === 1 ? "" : "s"}; ${Object.values(s.events).reduce((a, b) => a + b, 0)} events${byType ? ` (${byType})` : ""}`,
    `${s.ignored} lines understood but not events; ${s.notUnderstood} lines not understood`,
  ];
  if (s.recentNotUnderstood.length) lines.push("examples not understood:", ...s.recentNotUnderstood.slice(-5).map((l) => `  ${l}`));
  return lines.join("\n") + "\n";
}

// Output is encoded event by event into one byte buffer per block, reused once written:
// joining a block's ~15k JSON strings into one string and writing that cost 4× as much (the
// concatenation is flattened, then encoded again on write). Buffer.write, unlike
// TextEncoder.encodeInto, needs no view per event.
const OUT_BLOCK = 8 << 20;

/** `hookd parse [--format F] FILE...|-`: events as JSON lines on stdout, a summary on stderr. */
export async function parseCommand(args: ParsedArgs, io: IO): Promise<number> {
  const files = args.positionals.slice(1);
  if (files.length === 0) throw new UsageError("parse needs at least one FILE (or - for standard input)");
  const parser = createLogParser({ format: formatFlag(args) });
  // JSC lets the heap grow well past what is live. A full collection every 50k lines cost
  // 8–20% of the time; every 200k lines costs ~2%, and holds the generated 500k lines near
  // 185 MB (165 MB every 50k), the real-shape 1M lines, whose deferred mail stays in the
  // state, at 500 MB (365 MB).
  const gc = gcPacer(200_000);
  let buf = Buffer.allocUnsafe(OUT_BLOCK);
  let used = 0;
  const put = (json: string) => {
    // At most 3 UTF-8 bytes per UTF-16 unit, and the newline: Buffer.write cuts what does not fit.
    if (used + json.length * 3 + 1 > buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, used + json.length * 3 + 1));
      buf.copy(bigger, 0, 0, used);
      buf = bigger;
    }
    used += buf.write(json, used);
    buf[used++] = 10;
  };
  try {
    for (const file of files) {
      try {
        for await (const text of openBlocks(file)) {
          let n = 0;
          splitLines(text, (line) => {
            n++;
            for (const e of parser.feed(capped(line))) put(JSON.stringify(e));
          });
          gc.did(n);
          if (used > 0) await io.out(buf.subarray(0, used));
          used = 0;
        }
      } catch (err) {
        io.err(`hookd: ${file}: ${err instanceof Error ? err.message : String(err)}\n`);
        return 1;
      }
    }
    // The end of the input: what the parser held back in case a later line named it a notice.
    for (const e of parser.flush()) put(JSON.stringify(e));
    if (used > 0) await io.out(buf.subarray(0, used));
  } finally {
    gc.stop();
  }
  io.err(summary(parser, files.length));
  return 0;
}
