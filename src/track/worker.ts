// The tracking worker: the public listener (/o /c /u) and the commits of its hits run here, on
// their own thread and their own SQLite connection. Two reasons:
// - A commit blocks the thread it runs on (bun:sqlite is synchronous; a slow disk's fsync can
//   take tens of ms). Here it blocks only this thread's requests, never the API or delivery;
//   and a redirect still answers after `recordWaitMs` while its commit is held up.
// - Recipients' traffic (a newsletter's opens arrive in waves) gets a core of its own instead
//   of competing with delivery and the API for the main thread.
// Hits are group-committed (hits.ts): one transaction per ~2 ms of hits. After a commit that
// stored events, the main thread is told (a note), which wakes delivery.
import { createLogger, type Logger } from "../lib/log.ts";
import { notifyParent, serveRpc } from "../lib/worker-rpc.ts";
import { openStore, type Store } from "../store/db.ts";
import { pruneMinutes } from "../store/tracking.ts";
import { createHitCommitter } from "./commit.ts";
import type { Hit } from "./events.ts";
import { createHitWriter, type HitWriter } from "./hits.ts";
import { keyringSource } from "./keystore.ts";
import { proxyMatcher, rateLimitOptions } from "./settings.ts";
import { startTrackServer, type TrackServer } from "./server.ts";
import type { TrackCounts, TrackMethods, TrackNote, TrackWorkerInit } from "./worker-protocol.ts";

const COUNTS_EVERY_MS = 1000;
/** The admin page shows per-minute counts this far back. */
const KEEP_MINUTES_MS = 90 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

const note = (m: TrackNote) => notifyParent(m);

let store: Store | null = null;
let server: TrackServer | null = null;
let writer: HitWriter<Hit> | null = null;
let timers: ReturnType<typeof setInterval>[] = [];
let flushCounts = () => {};

function start(init: TrackWorkerInit): { url: string; port: number } {
  if (server) return { url: server.url, port: server.port };
  const log = createLogger({ level: init.logLevel, write: (line) => note({ t: "log", line }) });
  store = openStore(init.storePath);
  const db = store.sqlite;
  // See commit.ts: NORMAL for opens and clicks; a one-click's batch switches to FULL.
  db.run("PRAGMA synchronous = NORMAL");
  const keys = keyringSource(db);
  keys.refresh(); // fails here, at start, when the store has no valid ring
  const commitBatch = createHitCommitter(db, { host: init.host });
  const commitSeconds: number[] = [];
  writer = createHitWriter<Hit>({
    commit(batch) {
      const t0 = performance.now();
      const r = commitBatch(batch);
      commitSeconds.push((performance.now() - t0) / 1000);
      if (Object.keys(r.stored).length) note({ t: "stored", types: r.stored });
    },
  });
  const w = writer;
  try {
    server = startTrackServer({
      hostname: init.hostname,
      port: init.port,
      keyring: keys.get,
      record: (hit) => w.enqueue(hit),
      machine: { fastClickSeconds: init.fastClickSeconds },
      rateLimit: rateLimitOptions(init.rateLimit),
      trustProxy: proxyMatcher(init.trustProxy),
      log,
    });
  } catch (err) {
    store.close();
    store = null;
    throw new Error(`cannot listen on ${init.hostname}:${init.port}: ${(err as Error).message}`);
  }
  flushCounts = countsNote(server, w, commitSeconds);
  timers.push(setInterval(flushCounts, COUNTS_EVERY_MS));
  const prune = () => prunePerMinute(db, log);
  prune();
  timers.push(setInterval(prune, PRUNE_EVERY_MS));
  return { url: server.url, port: server.port };
}

/** Sends what changed since the last note, once a second (nothing when nothing moved). */
function countsNote(s: TrackServer, w: HitWriter<Hit>, commitSeconds: number[]) {
  let last = { ...s.stats(), ...w.stats() };
  return () => {
    const now = { ...s.stats(), ...w.stats() };
    const d = (k: keyof typeof now) => now[k] - last[k];
    const counts: TrackCounts = {
      hits: { open: d("open"), click: d("click"), unsubscribe: d("unsubscribe") },
      machine: { open: d("machineOpen"), click: d("machineClick") },
      notFound: d("notFound"),
      rateLimited: d("rateLimited"),
      recorded: d("committed"),
      queueFull: d("refused"),
      commitFailed: d("failed"),
      answeredBeforeCommit: d("recordSlow"),
      commitSeconds: commitSeconds.splice(0),
    };
    last = now;
    const moved = Object.values(counts).some((v) => (typeof v === "number" ? v !== 0 : Array.isArray(v) ? v.length > 0 : Object.values(v).some((x) => x !== 0)));
    if (moved) note({ t: "counts", counts });
  };
}

function prunePerMinute(db: Store["sqlite"], log: Logger) {
  try {
    pruneMinutes(db, Math.floor((Date.now() - KEEP_MINUTES_MS) / 60_000));
  } catch (err) {
    log.warn("tracking: old per-minute counts not pruned; next try in an hour", { err });
  }
}

serveRpc<TrackMethods>({
  async start(init) {
    return start(init);
  },
  async stop() {
    for (const t of timers) clearInterval(t);
    timers = [];
    // No new requests, then the queued hits committed, then the connection closed.
    await server?.stop();
    await writer?.stop();
    flushCounts();
    flushCounts = () => {};
    store?.close();
    server = null;
    writer = null;
    store = null;
  },
});
