import { rpcClient } from "../lib/worker-rpc.ts";
import type { ChunkParser, ParsedChunk, ParserSetup } from "./chunk-parser.ts";
import type { Snapshot } from "./parse/index.ts";
import type { ParsedTransfer, ParserInit, ParserMethods } from "./parse-worker.ts";
import { workerEntry } from "./worker-entry.ts";

// The ingest worker's handle on a parse worker. A reset drops the chunks fed before it (their
// answers are ignored) and gives the thread the state to go on from. A parse thread that dies
// fails the chunks waiting on it, and every later feed, until the ingester's reset: the next
// feed then starts a new thread from the state that reset gave (the store's).

const ENTRY = workerEntry("parse-worker.ts");

export function workerParser(setup: ParserSetup, state: Snapshot | null, entry = ENTRY): ChunkParser {
  let saved = state;
  let died: string | null = null;
  const rpc = rpcClient<ParserMethods>({
    entry,
    name: "the parse worker",
    workerData: (): ParserInit => ({ setup, state: saved }),
    onExit: (why) => {
      died = why;
    },
  });

  return {
    feed(lines, snapshot) {
      if (died) return Promise.reject(new Error(died));
      return rpc.call("feed", { text: lines.join("\n"), count: lines.length, snapshot }).then(unpack);
    },
    flush() {
      if (died) return Promise.reject(new Error(died));
      return rpc.call("flush").then(unpack);
    },
    reset(s) {
      saved = s;
      died = null;
      // Nobody awaits the dropped chunks any more: let them go without settling.
      rpc.forget();
      // A thread that is not running starts from `saved` at the next feed.
      if (rpc.running) rpc.send("reset", s);
    },
    close() {
      rpc.forget();
      rpc.close();
    },
  };
}

function unpack({ cols, bodies, ...rest }: ParsedTransfer): ParsedChunk {
  return { ...rest, rows: { cols, bodies: cols.length === 0 ? [] : bodies.split("\n") } };
}
