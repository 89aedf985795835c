// The ingest worker: every log source's tail → parse → commit runs here, on its own thread and
// its own store connection, so reading a busy log never competes with delivery and the API
// for the main thread (hookd was bound to one core of two). SQLite's WAL lets both
// connections work, and serialises their commits.
import { workerData } from "node:worker_threads";
import type { Store } from "../store/driver.ts";
import { connectStore } from "../store/open.ts";
import { gcPacer } from "../lib/gc-pacer.ts";
import { createLogger } from "../lib/log.ts";
import { notifyParent, serveRpc } from "../lib/worker-rpc.ts";
import { GC_EVERY_LINES } from "./chunk-parser.ts";
import { workerParser } from "./chunk-parser-worker.ts";
import { createSources } from "./sources.ts";
import type { IngestMethods, IngestNote, WorkerInit } from "./worker-protocol.ts";

const STATUS_EVERY_MS = 250;

const note = (m: IngestNote) => notifyParent(m);
const { store: target, logLevel } = workerData as WorkerInit;
const log = createLogger({ level: logLevel, write: (line) => note({ t: "log", line }) });

// This connection only commits what a log already holds. Durability "normal" keeps every
// commit atomic (events, position and correlation state together) but skips its fsync: a power
// cut can take the last commits back, and then their lines are read again from the log (same
// event ids). Whatever delivery has batched is durable anyway: the engine's own commit
// (synchronous=FULL) fsyncs the shared WAL, earlier frames included.
let store: Store;
try {
  store = await connectStore(target, { durability: "normal", max: 1 });
} catch (err) {
  note({ t: "fatal", error: err instanceof Error ? err.message : String(err) });
  throw err;
}

const gc = gcPacer(GC_EVERY_LINES);
let changed = true;
const sources = createSources(
  store,
  log,
  {
    onLines: (source, lines, notUnderstood) => {
      note({ t: "lines", source, lines, notUnderstood });
      changed = true;
      gc.did(lines);
    },
    onEvents: (types, source) => {
      const eventTypes: Record<string, number> = {};
      for (const t of types) eventTypes[t] = (eventTypes[t] ?? 0) + 1;
      note({ t: "events", source, eventTypes });
    },
  },
  workerParser,
);

const pushStatus = () => note({ t: "status", sources: sources.status() });
let lastPush = 0;
const timer = setInterval(() => {
  // Offsets and rates move only with chunks, but "missing"/"error" states and the rate
  // window change without one: push at least once a second.
  if (changed || Date.now() - lastPush >= 1000) {
    changed = false;
    lastPush = Date.now();
    pushStatus();
  }
}, STATUS_EVERY_MS);

serveRpc<IngestMethods>({
  async apply(wanted) {
    await sources.apply(wanted);
    pushStatus();
  },
  async stop() {
    await sources.stop();
    clearInterval(timer);
    gc.stop();
    await store.close();
  },
});
