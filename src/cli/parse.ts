import { createReadStream } from "node:fs";
import { createGunzip } from "node:zlib";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { LOG_FORMATS, createLogParser, type LogFormat, type LogParser } from "../ingest/parse/index.ts";
import { flag, UsageError, type ParsedArgs } from "./args.ts";

type IO = { out: (s: string) => void; err: (s: string) => void };

export function formatFlag(args: ParsedArgs): LogFormat {
  const f = flag(args, "--format") ?? "auto";
  if (!(LOG_FORMATS as readonly string[]).includes(f)) throw new UsageError(`--format: expected one of ${LOG_FORMATS.join(", ")}, got "${f}"`);
  return f as LogFormat;
}

/** A file (gzip by its name) or "-" for stdin, as lines. */
export function openLines(path: string, stdin: Readable = process.stdin): AsyncIterable<string> {
  let stream: Readable = path === "-" ? stdin : createReadStream(path);
  if (path.endsWith(".gz")) stream = stream.pipe(createGunzip());
  return createInterface({ input: stream, crlfDelay: Infinity });
}

export function summary(parser: LogParser, files: number): string {
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

/** `hookd parse [--format F] FILE...|-`: events as JSON lines on stdout, a summary on stderr. */
export async function parseCommand(args: ParsedArgs, io: IO): Promise<number> {
  const files = args.positionals.slice(1);
  if (files.length === 0) throw new UsageError("parse needs at least one FILE (or - for standard input)");
  const parser = createLogParser({ format: formatFlag(args) });
  for (const file of files) {
    try {
      let out = "";
      for await (const line of openLines(file)) {
        for (const e of parser.feed(line)) out += JSON.stringify(e) + "\n";
        if (out.length > 64 * 1024) {
          io.out(out);
          out = "";
        }
      }
      io.out(out);
    } catch (err) {
      io.err(`hookd: ${file}: ${err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    }
  }
  io.err(summary(parser, files.length));
  return 0;
}
