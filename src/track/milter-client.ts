import type { Level, Logger } from "../lib/log.ts";
import { rpcClient } from "../lib/worker-rpc.ts";
import type { MilterCounts, MilterMethods, MilterNote, MilterWorkerInit } from "./milter-protocol.ts";
import { workerEntry } from "./worker-entry.ts";

// The main thread's handle on the milter's thread (milter-worker.ts): start, stop, whether it
// is up, its counts. A thread that dies is started again a second later; meanwhile Postfix
// finds no milter and applies milter_default_action (accept): mail flows untracked.

const WORKER_ENTRY = workerEntry("milter-worker.ts");
const RESTART_AFTER_MS = 1000;
const STOP_TIMEOUT_MS = 15_000;

export type MilterListener = {
  /** Starts the thread and its listener; rejects when it cannot listen. Resolves with the address. */
  start(): Promise<string>;
  stop(): Promise<void>;
  readonly up: boolean;
  readonly address: string | null;
};

export function createMilterListener(init: MilterWorkerInit, log: Logger, onCounts: (c: MilterCounts) => void): MilterListener {
  let address: string | null = null;
  let stopping = false;

  const rpc = rpcClient<MilterMethods, MilterNote>({
    entry: WORKER_ENTRY,
    name: "the milter worker",
    onNote(m) {
      if (m.t === "counts") onCounts(m.counts);
      else relay(log, m.line);
    },
    onExit(why) {
      address = null;
      if (stopping) return;
      log.error("the milter worker exited; starting it again (meanwhile Postfix passes mail untracked)", {
        error: why,
        retry_in_ms: RESTART_AFTER_MS,
      });
      setTimeout(restart, RESTART_AFTER_MS);
    },
  });

  const start = async () => {
    const r = await rpc.call("start", init);
    address = r.address;
    return r.address;
  };
  const restart = () => {
    if (stopping) return;
    start().then(
      (a) => log.info("milter listener started again", { listen: a }),
      (err) => {
        log.error("milter listener did not start; trying again", { error: (err as Error).message, retry_in_ms: RESTART_AFTER_MS });
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
      address = null;
    },
    get up() {
      return address !== null && rpc.running;
    },
    get address() {
      return address;
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
