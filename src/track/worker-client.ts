import type { Level, Logger } from "../lib/log.ts";
import { rpcClient } from "../lib/worker-rpc.ts";
import { workerEntry } from "./worker-entry.ts";
import type { TrackCounts, TrackMethods, TrackNote, TrackWorkerInit } from "./worker-protocol.ts";

// The main thread's handle on the tracking worker (worker.ts): start, stop, whether it is up,
// and the counts it reports. A worker that dies is started again a second later: what it
// committed is in the store; hits it had answered but not yet committed are lost with it
// (never a one-click: that answer waits for its commit).

const WORKER_ENTRY = workerEntry("worker.ts");
const RESTART_AFTER_MS = 1000;
const STOP_TIMEOUT_MS = 15_000;

export type TrackingTotals = Omit<TrackCounts, "commitSeconds">;

export type TrackingListener = {
  /** Starts the worker and its listener; rejects when it cannot listen. Resolves with its URL. */
  start(): Promise<string>;
  stop(): Promise<void>;
  /** Whether the listener is serving now. */
  readonly up: boolean;
  readonly url: string | null;
  /** Counts since this process started (across worker restarts). */
  totals(): TrackingTotals;
};

export type ListenerHooks = {
  /** After a commit that stored events: how many of each type (wake delivery, count them). */
  onStored(types: Record<string, number>): void;
  onCounts(counts: TrackCounts): void;
};

export function zeroCounts(): TrackingTotals {
  return {
    hits: { open: 0, click: 0, unsubscribe: 0 },
    machine: { open: 0, click: 0 },
    notFound: 0,
    rateLimited: 0,
    recorded: 0,
    queueFull: 0,
    commitFailed: 0,
    answeredBeforeCommit: 0,
  };
}

export function createTrackingListener(init: TrackWorkerInit, log: Logger, hooks: ListenerHooks): TrackingListener {
  let url: string | null = null;
  let stopping = false;
  const totals = zeroCounts();

  const rpc = rpcClient<TrackMethods, TrackNote>({
    entry: WORKER_ENTRY,
    name: "the tracking worker",
    onNote(m) {
      if (m.t === "stored") hooks.onStored(m.types);
      else if (m.t === "counts") {
        add(totals, m.counts);
        hooks.onCounts(m.counts);
      } else if (m.t === "log") relay(log, m.line);
    },
    onExit(why) {
      url = null;
      if (stopping) return;
      log.error("the tracking worker exited; starting it again", { error: why, retry_in_ms: RESTART_AFTER_MS });
      setTimeout(restart, RESTART_AFTER_MS);
    },
  });

  const start = async () => {
    const r = await rpc.call("start", init);
    url = r.url;
    return r.url;
  };
  const restart = () => {
    if (stopping) return;
    start().then(
      (u) => log.info("tracking listener started again", { listen: u }),
      (err) => {
        log.error("tracking listener did not start; trying again", { error: (err as Error).message, retry_in_ms: RESTART_AFTER_MS });
        setTimeout(restart, RESTART_AFTER_MS);
      },
    );
  };

  return {
    start,
    async stop() {
      stopping = true;
      if (rpc.running) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_TIMEOUT_MS)));
        await Promise.race([rpc.call("stop").catch(() => {}), timeout]);
        clearTimeout(timer);
      }
      rpc.close();
      url = null;
    },
    get up() {
      return url !== null && rpc.running;
    },
    get url() {
      return url;
    },
    totals: () => structuredClone(totals),
  };
}

function add(into: TrackingTotals, d: TrackCounts) {
  for (const k of ["open", "click", "unsubscribe"] as const) into.hits[k] += d.hits[k];
  for (const k of ["open", "click"] as const) into.machine[k] += d.machine[k];
  for (const k of ["notFound", "rateLimited", "recorded", "queueFull", "commitFailed", "answeredBeforeCommit"] as const) into[k] += d[k];
}

/** Re-emits a worker's JSON log line through this thread's logger (its level, sink and fields). */
function relay(log: Logger, line: string) {
  try {
    const { ts: _ts, level, msg, ...fields } = JSON.parse(line) as { ts?: string; level: Level; msg: string } & Record<string, unknown>;
    (log[level] ?? log.info)(msg, fields);
  } catch {
    log.info(line);
  }
}
