// The tracking writer: the thread that commits the listener's hits. The listener's thread
// (worker.ts) never touches the store, because a synchronous SQLite call blocks the thread that
// makes it — an fsync (a one-click's batch, a WAL checkpoint), or waiting for the write lock
// while another connection commits — and every request on that thread would wait with it.
// Here those stalls only delay recording: the listener answers pixels and redirects after
// at most recordWaitMs, and queues hits (bounded) until this thread catches up.
// Also here: the keyring, read from the store (re-read when its version changes, checked once
// a second) and sent to the listener as stored; the per-minute counts' pruning.
import { workerData } from "node:worker_threads";
import { createLogger } from "../lib/log.ts";
import { notifyParent, serveRpc } from "../lib/worker-rpc.ts";
import { connectStore } from "../store/open.ts";
import { createHitCommitter } from "./commit.ts";
import type { WriterInit, WriterMethods, WriterNote } from "./worker-protocol.ts";

const RING_CHECK_MS = 1000;
/** The admin page shows per-minute counts this far back. */
const KEEP_MINUTES_MS = 90 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

const note = (m: WriterNote) => notifyParent(m);
const init = workerData as WriterInit;
const log = createLogger({ level: init.logLevel, write: (line) => note({ t: "log", line }) });
// See commit.ts: not fsynced for opens and clicks; a one-click's batch is committed durable.
const store = await connectStore(init.store, { durability: "normal", max: 1 });
const commit = createHitCommitter(store, { host: init.host });

// The version the listener has (null until the first read: it gets the ring it asks for).
let ringVersion: number | null = null;
const checkRing = async () => {
  try {
    const v = await store.tracking.keyringVersion();
    if (ringVersion === null) ringVersion = v;
    if (v === ringVersion) return;
    const row = await store.tracking.keyring();
    if (!row) return;
    ringVersion = row.version;
    note({ t: "ring", ring: row.ring });
  } catch (err) {
    log.warn("tracking: the keyring could not be read; trying again", { err });
  }
};
void checkRing();
const ringTimer = setInterval(checkRing, RING_CHECK_MS);

const prune = async () => {
  try {
    await store.tracking.pruneMinutes(Math.floor((Date.now() - KEEP_MINUTES_MS) / 60_000));
  } catch (err) {
    log.warn("tracking: old per-minute counts not pruned; next try in an hour", { err });
  }
};
void prune();
const pruneTimer = setInterval(prune, PRUNE_EVERY_MS);

serveRpc<WriterMethods>({
  async commit(hits) {
    const t0 = performance.now();
    const r = await commit(hits);
    return { stored: r.stored, seconds: (performance.now() - t0) / 1000 };
  },
  async ring() {
    const row = await store.tracking.keyring();
    if (!row) throw new Error("no tracking keyring in the store");
    ringVersion = row.version;
    return row.ring;
  },
  async stop() {
    clearInterval(ringTimer);
    clearInterval(pruneTimer);
    await store.close();
  },
});
