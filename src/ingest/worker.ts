// The ingest worker: every log source's tail → parse → commit runs here, on its own thread and
// its own SQLite connection, so reading a busy log never competes with delivery and the API
// for the main thread (hookd was bound to one core of two). WAL lets both connections work;
// SQLite serialises their commits.
declare const self: Worker;

import { workerData } from "node:worker_threads";
import { openStore, type Store } from "../store/db.ts";
import { createLogger } from "../lib/log.ts";
import { createSources } from "./sources.ts";
import type { FromWorker, ToWorker, WorkerInit } from "./worker-protocol.ts";

const STATUS_EVERY_MS = 250;
const RSS_SOFT_LIMIT = 150 * 1024 * 1024;
const RSS_IDLE_LIMIT = 100 * 1024 * 1024;

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

let changed = true;
const sources = createSources(store.sqlite, log, {
  onLines: (source, lines, notUnderstood) => {
    post({ t: "lines", source, lines, notUnderstood });
    changed = true;
    // Reading a busy log allocates ~100 MB/s of short-lived strings and events; JSC lets the
    // heap grow far past what is live before it collects. Past the soft limit, collect after
    // each chunk (a few ms per chunk of up to 10,000 lines): RSS stays flat under a backlog.
    if (process.memoryUsage.rss() > RSS_SOFT_LIMIT) Bun.gc(true);
    lastChunkAt = Date.now();
  },
  onEvents: (events, source) => {
    const eventTypes: Record<string, number> = {};
    for (const e of events) eventTypes[e.type] = (eventTypes[e.type] ?? 0) + 1;
    post({ t: "events", source, eventTypes });
  },
});

const pushStatus = () => post({ t: "status", sources: sources.status() });
let lastPush = 0;
let lastChunkAt = 0;
const timer = setInterval(() => {
  // A burst's garbage would otherwise sit in RSS until the next burst: collect once when the
  // log goes quiet (not for a trickle, which leaves little behind).
  if (lastChunkAt && Date.now() - lastChunkAt > 1000) {
    lastChunkAt = 0;
    if (process.memoryUsage.rss() > RSS_IDLE_LIMIT) Bun.gc(true);
  }
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
      store.close();
    }
    post({ t: "done", id: m.id });
  } catch (err) {
    post({ t: "done", id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
};
