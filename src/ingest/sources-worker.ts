import type { SourceConfig } from "../config/schema.ts";
import type { Level, Logger } from "../lib/log.ts";
import type { SourceStatusView } from "./ingester.ts";
import { workerEntry } from "./worker-entry.ts";
import type { FromWorker, ToWorker, WorkerInit } from "./worker-protocol.ts";

// The main thread's side of the ingest worker, with the same face as createSources (apply,
// stop, status), so the composition root does not care where ingest runs.

export type WorkerHooks = {
  onLines: (source: string, lines: number, notUnderstood: number) => void;
  /** After a commit that stored events, with how many of each type. */
  onEvents: (eventTypes: Record<string, number>, source: string) => void;
};

const RESTART_AFTER_MS = 1000;
const WORKER_ENTRY = workerEntry("worker.ts");
const STOP_TIMEOUT_MS = 15_000;

export function createSourcesWorker(storePath: string, log: Logger, hooks: WorkerHooks) {
  let worker: Worker | null = null;
  let status: SourceStatusView[] = [];
  let wanted: SourceConfig[] = [];
  let stopping = false;
  let nextId = 1;
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

  const onMessage = (ev: MessageEvent<FromWorker>) => {
    const m = ev.data;
    if (m.t === "lines") hooks.onLines(m.source, m.lines, m.notUnderstood);
    else if (m.t === "events") hooks.onEvents(m.eventTypes, m.source);
    else if (m.t === "status") status = m.sources;
    else if (m.t === "log") relay(log, m.line);
    else if (m.t === "fatal") log.error("log ingest could not start", { error: m.error });
    else if (m.t === "done") {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error) p?.reject(new Error(m.error));
      else p?.resolve();
    }
  };

  function spawn(): Worker {
    const init: WorkerInit = { storePath, logLevel: log.level as Level };
    const w = new Worker(WORKER_ENTRY, { workerData: init } as WorkerOptions);
    w.onmessage = onMessage;
    w.addEventListener("close", () => {
      if (worker !== w) return;
      worker = null;
      status = [];
      for (const p of pending.values()) p.reject(new Error("the ingest worker exited"));
      pending.clear();
      if (stopping) return;
      // Everything it committed is in the store with its checkpoint: a new worker resumes there.
      log.error("the log ingest worker exited; starting it again", { retry_in_ms: RESTART_AFTER_MS });
      setTimeout(() => {
        if (!stopping && !worker && wanted.length) void send({ t: "apply", id: 0, sources: wanted }).catch(() => {});
      }, RESTART_AFTER_MS);
    });
    w.addEventListener("error", (e) => log.error("log ingest worker failed", { error: (e as ErrorEvent).message }));
    return w;
  }

  function send(m: ToWorker): Promise<void> {
    worker ??= spawn();
    const id = nextId++;
    const msg = { ...m, id };
    return new Promise<void>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker!.postMessage(msg);
    });
  }

  return {
    async apply(sources: readonly SourceConfig[]) {
      wanted = [...sources];
      // No sources, no thread: an API-only hookd keeps the memory a worker's heap costs.
      if (!sources.length && !worker) return;
      await send({ t: "apply", id: 0, sources: wanted });
    },
    async stop() {
      stopping = true;
      const w = worker;
      if (!w) return;
      // The worker commits its last chunk and closes its connection before it is ended.
      await Promise.race([send({ t: "stop", id: 0 }).catch(() => {}), Bun.sleep(STOP_TIMEOUT_MS)]);
      worker = null;
      w.terminate();
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
