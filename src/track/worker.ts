// The tracking listener's thread: the public listener (/o /c /u) runs here, off the main
// thread, so recipients' traffic (a newsletter's opens arrive in waves) never competes with
// the API and delivery for their thread, and theirs (a delivery pass's fsync) never holds up a
// redirect. Its hits are group-committed (hits.ts: one batch per ~2 ms of hits) by a thread of
// its own, the writer (worker-writer.ts), which this thread starts: this one does no SQLite
// at all, so nothing on disk can stall its requests. After a commit that stored events, the
// main thread is told (a note), which wakes delivery.
import { createLogger } from "../lib/log.ts";
import { notifyParent, rpcClient, serveRpc, type RpcClient } from "../lib/worker-rpc.ts";
import type { Hit } from "./events.ts";
import { createHitWriter, type HitWriter } from "./hits.ts";
import { keyringFromStored, type Keyring } from "./keyring.ts";
import { proxyMatcher, rateLimitOptions } from "./settings.ts";
import { startTrackServer, type TrackServer } from "./server.ts";
import { workerEntry } from "./worker-entry.ts";
import type { TrackCounts, TrackMethods, TrackNote, TrackWorkerInit, WriterInit, WriterMethods, WriterNote } from "./worker-protocol.ts";

const COUNTS_EVERY_MS = 1000;
const WRITER_ENTRY = workerEntry("worker-writer.ts");

const note = (m: TrackNote) => notifyParent(m);

let server: TrackServer | null = null;
let hits: HitWriter<Hit> | null = null;
let writer: RpcClient<WriterMethods> | null = null;
let timer: ReturnType<typeof setInterval> | null = null;
let flushCounts = () => {};

async function start(init: TrackWorkerInit): Promise<{ url: string; port: number }> {
  if (server) return { url: server.url, port: server.port };
  const log = createLogger({ level: init.logLevel, write: (line) => note({ t: "log", line }) });
  let ring: Keyring | null = null;
  const setRing = (text: string) => {
    try {
      ring = keyringFromStored(JSON.parse(text));
    } catch {
      log.error("tracking: the stored keyring is not valid; the listener keeps the ring it has");
    }
  };
  const w = rpcClient<WriterMethods, WriterNote>({
    entry: WRITER_ENTRY,
    name: "the tracking writer",
    workerData: (): WriterInit => ({ store: init.store, logLevel: init.logLevel, host: init.host }),
    onNote(m) {
      if (m.t === "ring") setRing(m.ring);
      else note(m);
    },
    // Its waiting commits fail (those hits are counted as not recorded); the next commit starts another.
    onExit: (why) => log.error("the tracking writer exited; the next batch starts it again", { error: why }),
  });
  try {
    setRing(await w.call("ring")); // fails here, at start, when the store cannot be opened or has no ring
    if (!ring) throw new Error("the stored tracking keyring is not valid");
  } catch (err) {
    w.close();
    throw err;
  }
  writer = w;
  const commitSeconds: number[] = [];
  const stored = storedNotes();
  hits = createHitWriter<Hit>({
    async commit(batch) {
      const r = await w.call("commit", batch);
      commitSeconds.push(r.seconds);
      stored.add(r.stored);
    },
  });
  const h = hits;
  try {
    server = startTrackServer({
      hostname: init.hostname,
      port: init.port,
      keyring: () => ring!,
      record: (hit) => h.enqueue(hit),
      machine: { fastClickSeconds: init.fastClickSeconds },
      rateLimit: rateLimitOptions(init.rateLimit),
      trustProxy: proxyMatcher(init.trustProxy),
      log,
    });
  } catch (err) {
    await w.call("stop").catch(() => {});
    w.close();
    writer = null;
    throw new Error(`cannot listen on ${init.hostname}:${init.port}: ${(err as Error).message}`);
  }
  flushCounts = countsNote(server, h, commitSeconds);
  timer = setInterval(flushCounts, COUNTS_EVERY_MS);
  return { url: server.url, port: server.port };
}

/**
 * "Events stored" for the main thread, at most one note per STORED_EVERY_MS: each wakes a
 * delivery pass (a write transaction on the main connection, which this thread's writer then
 * waits for), and at 10,000 clicks/s there are hundreds of commits a second. The first note
 * goes at once; what follows within the interval goes together at its end.
 */
const STORED_EVERY_MS = 10;

function storedNotes() {
  let pending: Record<string, number> | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = () => {
    timer = null;
    if (!pending) return;
    note({ t: "stored", types: pending });
    pending = null;
    timer = setTimeout(flush, STORED_EVERY_MS);
  };
  return {
    add(types: Record<string, number>) {
      if (!Object.keys(types).length) return;
      pending ??= {};
      for (const [t, n] of Object.entries(types)) pending[t] = (pending[t] ?? 0) + n;
      if (!timer) flush();
    },
  };
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
    const moved = Object.values(counts).some((v) =>
      typeof v === "number" ? v !== 0 : Array.isArray(v) ? v.length > 0 : Object.values(v).some((x) => x !== 0),
    );
    if (moved) note({ t: "counts", counts });
  };
}

serveRpc<TrackMethods>({
  start,
  async stop() {
    if (timer) clearInterval(timer);
    timer = null;
    // No new requests, then the queued hits committed, then the writer's connection closed.
    await server?.stop();
    await hits?.stop();
    flushCounts();
    flushCounts = () => {};
    await writer?.call("stop").catch(() => {});
    writer?.close();
    server = null;
    hits = null;
    writer = null;
  },
});
