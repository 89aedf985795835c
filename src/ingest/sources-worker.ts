import type { StoreTarget } from "../store/open.ts";
import type { SourceConfig } from "../config/schema.ts";
import type { Level, Logger } from "../lib/log.ts";
import { rpcClient } from "../lib/worker-rpc.ts";
import type { SourceStatusView } from "./ingester.ts";
import { workerEntry } from "./worker-entry.ts";
import type { IngestMethods, IngestNote, WorkerInit } from "./worker-protocol.ts";

// The main thread's side of the ingest worker (worker.ts): apply, stop and status, as the
// composition root uses them.

export type WorkerHooks = {
  onLines: (source: string, lines: number, notUnderstood: number) => void;
  /** After a commit that stored events, with how many of each type. */
  onEvents: (eventTypes: Record<string, number>, source: string) => void;
};

const RESTART_AFTER_MS = 1000;
const WORKER_ENTRY = workerEntry("worker.ts");
const STOP_TIMEOUT_MS = 15_000;

export function createSourcesWorker(store: StoreTarget, log: Logger, hooks: WorkerHooks) {
  let status: SourceStatusView[] = [];
  let wanted: SourceConfig[] = [];
  let stopping = false;

  const rpc = rpcClient<IngestMethods, IngestNote>({
    entry: WORKER_ENTRY,
    name: "the log ingest worker",
    workerData: (): WorkerInit => ({ store, logLevel: log.level as Level }),
    onNote(m) {
      if (m.t === "lines") hooks.onLines(m.source, m.lines, m.notUnderstood);
      else if (m.t === "events") hooks.onEvents(m.eventTypes, m.source);
      else if (m.t === "status") status = m.sources;
      else if (m.t === "log") relay(log, m.line);
      else if (m.t === "fatal") log.error("log ingest could not start", { error: m.error });
    },
    onExit(why) {
      status = [];
      if (stopping) return;
      // Everything it committed is in the store with its checkpoint: a new worker resumes there.
      log.error("the log ingest worker exited; starting it again", { error: why, retry_in_ms: RESTART_AFTER_MS });
      setTimeout(() => {
        if (!stopping && !rpc.running && wanted.length) rpc.call("apply", wanted).catch(() => {});
      }, RESTART_AFTER_MS);
    },
  });

  return {
    async apply(sources: readonly SourceConfig[]) {
      // The worker opens the store with a connection of its own: an in-memory store is not shared.
      if (sources.length && store.driver === "sqlite" && store.path === ":memory:")
        throw new Error('log sources need storage.path to be a file, not ":memory:"');
      wanted = [...sources];
      // No sources, no thread: an API-only hookd keeps the memory a worker's heap costs.
      if (!sources.length && !rpc.running) return;
      await rpc.call("apply", wanted);
    },
    async stop() {
      stopping = true;
      if (rpc.running) {
        // The worker commits its last chunk and closes its connection before it is ended.
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_TIMEOUT_MS)));
        await Promise.race([rpc.call("stop").catch(() => {}), timeout]);
        clearTimeout(timer);
      }
      rpc.close();
    },
    status(): SourceStatusView[] {
      return status;
    },
  };
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
