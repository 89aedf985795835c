// One log source's parser on its own thread: the ingest worker sends each chunk's lines and
// commits what comes back while the next chunk is parsed here, so parsing and storing a busy
// log use both cores. Started with the parser's setup and the state to resume from
// (workerData); `reset` starts again from another state.
import { workerData } from "node:worker_threads";
import { gcPacer } from "../lib/gc-pacer.ts";
import { serveRpc } from "../lib/worker-rpc.ts";
import type { EventRows } from "../store/event-rows.ts";
import { flushChunk, GC_EVERY_LINES, newParser, parseChunk, type ParsedChunk, type ParserSetup } from "./chunk-parser.ts";
import type { Snapshot } from "./parse/index.ts";

export type ParserInit = { setup: ParserSetup; state: Snapshot | null };

/** A chunk as it crosses threads: one string for the lines and one for the bodies (JSON has no raw newline) copy as two blocks, not as thousands of small strings. */
export type ParsedTransfer = Omit<ParsedChunk, "rows"> & { cols: EventRows["cols"]; bodies: string };

export type ParserMethods = {
  /** The chunk's lines joined by "\n" (count: how many, as "" is one empty line or none). */
  feed(chunk: { text: string; count: number; snapshot: boolean }): ParsedTransfer;
  flush(): ParsedTransfer;
  reset(state: Snapshot | null): void;
};

const { setup } = workerData as ParserInit;
let parser = newParser(setup, (workerData as ParserInit).state);
const gc = gcPacer(GC_EVERY_LINES);

serveRpc<ParserMethods>({
  feed({ text, count, snapshot }) {
    const lines = count === 0 ? [] : text.split("\n");
    const { rows, ...rest } = parseChunk(parser, lines, snapshot);
    // Collect after the answer is posted (serveRpc posts as this returns), not before it.
    queueMicrotask(() => gc.did(lines.length));
    return { ...rest, cols: rows.cols, bodies: rows.bodies.join("\n") };
  },
  flush() {
    const { rows, ...rest } = flushChunk(parser);
    return { ...rest, cols: rows.cols, bodies: rows.bodies.join("\n") };
  },
  reset(state) {
    parser = newParser(setup, state);
  },
});
