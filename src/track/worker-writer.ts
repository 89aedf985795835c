// The tracking writer: the thread that commits the listener's hits. The listener's thread
// (worker.ts) never touches SQLite, because a synchronous SQLite call blocks the thread that
// makes it — an fsync (a one-click's batch, a WAL checkpoint), or waiting for the write lock
// while another connection commits — and every request on that thread would wait with it.
// Here those stalls only delay recording: the listener answers pixels and redirects after
// at most recordWaitMs, and queues hits (bounded) until this thread catches up.
// Also here: the keyring, read from the store (re-read when its version changes, checked once
// a second) and sent to the listener as stored; the per-minute counts' pruning.
import { workerData } from "node:worker_threads";
import { createLogger } from "../lib/log.ts";
import { notifyParent, serveRpc } from "../lib/worker-rpc.ts";
import { openStore } from "../store/db.ts";
import { keyringRow, keyringVersion, pruneMinutes } from "../store/tracking.ts";
import { createHitCommitter } from "./commit.ts";
import type { WriterInit, WriterMethods, WriterNote } from "./worker-protocol.ts";

const RING_CHECK_MS = 1000;
/** The admin page shows per-minute counts this far back. */
const KEEP_MINUTES_MS = 90 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

const note = (m: WriterNote) => notifyParent(m);
const init = workerData as WriterInit;
const log = createLogger({ level: init.logLevel, write: (line) => note({ t: "log", line }) });
const store = openStore(init.storePath);
const db = store.sqlite;
// See commit.ts: NORMAL for opens and clicks; a one-click's batch is committed with FULL.
db.run("PRAGMA synchronous = NORMAL");
const commit = createHitCommitter(db, { host: init.host });

let ringVersion = keyringVersion(db);
const ringTimer = setInterval(() => {
  try {
    const v = keyringVersion(db);
    if (v === ringVersion) return;
    const row = keyringRow(db);
    if (!row) return;
    ringVersion = row.version;
    note({ t: "ring", ring: row.ring });
  } catch (err) {
    log.warn("tracking: the keyring could not be read; trying again", { err });
  }
}, RING_CHECK_MS);

const prune = () => {
  try {
    pruneMinutes(db, Math.floor((Date.now() - KEEP_MINUTES_MS) / 60_000));
  } catch (err) {
    log.warn("tracking: old per-minute counts not pruned; next try in an hour", { err });
  }
};
prune();
const pruneTimer = setInterval(prune, PRUNE_EVERY_MS);

serveRpc<WriterMethods>({
  commit(hits) {
    const t0 = performance.now();
    const r = commit(hits);
    return { stored: r.stored, seconds: (performance.now() - t0) / 1000 };
  },
  ring() {
    const row = keyringRow(db);
    if (!row) throw new Error("no tracking keyring in the store");
    ringVersion = row.version;
    return row.ring;
  },
  stop() {
    clearInterval(ringTimer);
    clearInterval(pruneTimer);
    store.close();
  },
});
