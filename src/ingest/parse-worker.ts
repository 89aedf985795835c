// One log source's parser on its own thread: the ingest worker sends each chunk's lines and
// commits what comes back while the next chunk is parsed here, so parsing and storing a busy
// log use both cores.
declare const self: Worker;

import { gcPacer } from "../lib/gc-pacer.ts";
import type { EventRows } from "../store/events.ts";
import { GC_EVERY_LINES, newParser, parseChunk, type ParsedChunk, type ParserSetup } from "./chunk-parser.ts";
import type { Snapshot } from "./parse/index.ts";

export type ToParser = { t: "setup"; setup: ParserSetup; state: Snapshot | null; gen: number } | { t: "feed"; gen: number; text: string; count: number; snapshot: boolean };

/** A chunk as it crosses threads: one string for the lines and one for the bodies (JSON has no raw newline) copy as two blocks, not as thousands of small strings. */
export type ParsedTransfer = Omit<ParsedChunk, "rows"> & { cols: EventRows["cols"]; bodies: string };

let setup: ParserSetup | null = null;
let parser: ReturnType<typeof newParser> | null = null;
let gen = 0;
const gc = gcPacer(GC_EVERY_LINES);

self.onmessage = (ev: MessageEvent<ToParser>) => {
  const m = ev.data;
  if (m.t === "setup") {
    setup = m.setup;
    parser = newParser(m.setup, m.state);
    gen = m.gen;
    return;
  }
  // A feed sent before the latest reset belongs to chunks the ingester has dropped.
  if (!parser || !setup || m.gen !== gen) return;
  const lines = m.count === 0 ? [] : m.text.split("\n");
  const { rows, ...rest } = parseChunk(parser, lines, m.snapshot);
  const chunk: ParsedTransfer = { ...rest, cols: rows.cols, bodies: rows.bodies.join("\n") };
  self.postMessage({ gen, chunk });
  gc.did(lines.length);
};
