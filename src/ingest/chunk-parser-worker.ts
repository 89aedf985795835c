import type { ChunkParser, ParsedChunk, ParserSetup } from "./chunk-parser.ts";
import type { Snapshot } from "./parse/index.ts";
import type { ParsedTransfer, ToParser } from "./parse-worker.ts";
import { workerEntry } from "./worker-entry.ts";

// The ingest worker's handle on a parse worker. A reset starts a new generation: answers to
// chunks fed before it are dropped, and a parse worker that died is started again by it.

const ENTRY = workerEntry("parse-worker.ts");

export function workerParser(setup: ParserSetup, state: Snapshot | null): ChunkParser {
  let worker: Worker | null = null;
  let gen = 0;
  let waiting: { resolve: (c: ParsedChunk) => void; reject: (e: Error) => void }[] = [];

  const fail = (why: string) => {
    const w = waiting;
    waiting = [];
    for (const p of w) p.reject(new Error(why));
  };

  function start(s: Snapshot | null) {
    const w = new Worker(ENTRY);
    w.onmessage = (ev: MessageEvent<{ gen: number; chunk: ParsedTransfer }>) => {
      if (ev.data.gen !== gen) return;
      const { cols, bodies, ...rest } = ev.data.chunk;
      waiting.shift()?.resolve({ ...rest, rows: { cols, bodies: cols.length === 0 ? [] : bodies.split("\n") } });
    };
    w.addEventListener("error", (e) => {
      if (worker !== w) return;
      worker = null;
      fail(`parse worker failed: ${(e as ErrorEvent).message}`);
    });
    w.addEventListener("close", () => {
      if (worker !== w) return;
      worker = null;
      fail("parse worker exited");
    });
    w.postMessage({ t: "setup", setup, state: s, gen } satisfies ToParser);
    worker = w;
  }
  start(state);

  return {
    feed(lines, snapshot) {
      if (!worker) return Promise.reject(new Error("parse worker is not running"));
      const w = worker;
      return new Promise<ParsedChunk>((resolve, reject) => {
        waiting.push({ resolve, reject });
        w.postMessage({ t: "feed", gen, text: lines.join("\n"), count: lines.length, snapshot } satisfies ToParser);
      });
    },
    reset(s) {
      gen++;
      // Nobody awaits the dropped chunks any more: let them go without settling.
      waiting = [];
      if (worker) worker.postMessage({ t: "setup", setup, state: s, gen } satisfies ToParser);
      else start(s);
    },
    close() {
      const w = worker;
      worker = null;
      waiting = [];
      w?.terminate();
    },
  };
}
