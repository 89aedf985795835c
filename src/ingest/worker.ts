// The ingest worker: every log source's tail → parse → commit runs here, on its own thread and
// its own SQLite connection, so reading a busy log never competes with delivery and the API
// for the main thread (hookd was bound to one core of two). WAL lets both connections work;
// SQLite serialises their commits.
declare const self: Worker;

import { workerData } from "node:worker_threads";
import { openStore, type Store } from "../store/db.ts";
import { gcPacer } from "../lib/gc-pacer.ts";
import { createLogger } from "../lib/log.ts";
import { GC_EVERY_LINES } from "./chunk-parser.ts";
import { workerParser } from "./chunk-parser-worker.ts";
import { createSources } from "./sources.ts";
import type { FromWorker, ToWorker, WorkerInit } from "./worker-protocol.ts";

const STATUS_EVERY_MS = 250;

const post = (m: FromWorker) => self.postMessage(m);
const { storePath, logLevel } = workerData as WorkerInit;
const log = createLogger({ level: logLevel, write: (line) => post({ t: "log", line }) });

let store: Store;
try {
  store = openStore(storePath);
} catch (err) {
  post({ t: "fatal", error: err instanceof Error ? err.message : String(err) });
  throw err;
}

// This connection only commits what a log already holds. synchronous=NORMAL keeps every commit
// atomic (events, position and correlation state together) but skips its fsync: a power cut
// can take the last commits back, and then their lines are read again from the log (same
// event ids). Whatever delivery has batched is durable anyway: the engine's own commit
// (synchronous=FULL) fsyncs the shared WAL, earlier frames included.
store.sqlite.run("PRAGMA synchronous = NORMAL");

const gc = gcPacer(GC_EVERY_LINES);
let changed = true;
const sources = createSources(store.sqlite, log, {
  onLines: (source, lines, notUnderstood) => {
    post({ t: "lines", source, lines, notUnderstood });
    changed = true;
    gc.did(lines);
  },
  onEvents: (types, source) => {
    const eventTypes: Record<string, number> = {};
    for (const t of types) eventTypes[t] = (eventTypes[t] ?? 0) + 1;
    post({ t: "events", source, eventTypes });
  },
}, workerParser);

const pushStatus = () => post({ t: "status", sources: sources.status() });
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

self.onmessage = async (ev: MessageEvent<ToWorker>) => {
  const m = ev.data;
  try {
    if (m.t === "apply") {
      await sources.apply(m.sources);
      pushStatus();
    } else if (m.t === "stop") {
      await sources.stop();
      clearInterval(timer);
      gc.stop();
      store.close();
    }
    post({ t: "done", id: m.id });
  } catch (err) {
    post({ t: "done", id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
};
