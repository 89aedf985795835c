// Option B: a synchronous PostgreSQL call for a thread whose store calls are synchronous.
// The query runs on a worker (bridge-worker.ts, Bun's SQL client); this thread blocks in
// Atomics.wait until the answer is in the shared buffer, or until the deadline — a worker
// that died or a server that stopped answering must not hang the thread forever. After a
// deadline the worker is terminated (its connection, and any transaction open on it, go with
// it) and the next call starts a new one.
import { deserialize } from "bun:jsc";
import { READY, type BridgeInit, type BridgeRequest } from "./bridge-protocol.ts";

export class BridgeError extends Error {
  override name = "BridgeError";
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export type SyncPg = {
  /** $1-style parameters; rows as Bun's SQL returns them (int8 as strings). */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): T[];
  /** Rows affected (UPDATE, DELETE, INSERT without RETURNING). */
  run(text: string, params?: unknown[]): number;
  /** BEGIN … COMMIT on the pinned connection; ROLLBACK when fn throws. */
  transaction<T>(fn: () => T): T;
  /** Test hook: makes the worker exit without answering. */
  killWorker(): void;
  close(): void;
};

export function createSyncPg(url: string, opts: { deadlineMs?: number; bufferBytes?: number } = {}): SyncPg {
  const deadlineMs = opts.deadlineMs ?? 10_000;
  const ctrl = new Int32Array(new SharedArrayBuffer(8));
  const data = new SharedArrayBuffer(opts.bufferBytes ?? 64 * 1024 * 1024);
  const bytes = new Uint8Array(data);
  let worker: Worker | null = null;
  let nextId = 1;

  /** Blocks until ctrl[0] === id or the deadline; returns the decoded answer. */
  function wait(id: number, what: string): { rows?: unknown[]; count?: number; error?: { message: string; code: string } } {
    const until = performance.now() + deadlineMs;
    for (;;) {
      const seen = Atomics.load(ctrl, 0);
      if (seen === id) break;
      const left = until - performance.now();
      if (left <= 0) {
        // The worker is dead or stuck: whatever it was doing is abandoned with it.
        worker?.terminate();
        worker = null;
        throw new BridgeError(`PostgreSQL did not answer ${what} within ${deadlineMs} ms (worker restarted)`, "BRIDGE_DEADLINE");
      }
      Atomics.wait(ctrl, 0, seen, left);
    }
    return deserialize(bytes.slice(0, Atomics.load(ctrl, 1))) as never;
  }

  function ensureWorker(): Worker {
    if (worker) return worker;
    Atomics.store(ctrl, 0, 0);
    worker = new Worker(new URL("./bridge-worker.ts", import.meta.url).href);
    // The thread blocks in Atomics.wait, not in its event loop: an idle worker must not keep the process alive.
    (worker as Worker & { unref(): void }).unref();
    worker.postMessage({ url, ctrl: ctrl.buffer as SharedArrayBuffer, data, statementTimeoutMs: deadlineMs } satisfies BridgeInit);
    const r = wait(READY, "the connection");
    if (r.error) {
      worker?.terminate();
      worker = null;
      throw new BridgeError(`PostgreSQL connection failed: ${r.error.message}`, r.error.code);
    }
    return worker;
  }

  function post(m: BridgeRequest): void {
    try {
      ensureWorker().postMessage(m);
    } catch {
      // The worker exited since the last call (postMessage tells at once): start another. A
      // transaction that was open on it is gone, which the server's rollback already settled.
      worker = null;
      ensureWorker().postMessage(m);
    }
  }

  function call(text: string, params: unknown[]) {
    const id = nextId++;
    post({ id, op: "query", text, params });
    const r = wait(id, text.length > 60 ? `${text.slice(0, 60)}…` : text);
    if (r.error) throw new BridgeError(r.error.message, r.error.code);
    return r;
  }

  return {
    query: <T>(text: string, params: unknown[] = []) => call(text, params).rows as T[],
    run: (text, params = []) => call(text, params).count ?? 0,
    transaction(fn) {
      call("BEGIN", []);
      try {
        const r = fn();
        call("COMMIT", []);
        return r;
      } catch (err) {
        // After a deadline the worker (and its transaction) are gone already.
        if (!(err instanceof BridgeError && err.code === "BRIDGE_DEADLINE")) call("ROLLBACK", []);
        throw err;
      }
    },
    killWorker() {
      post({ id: 0, op: "die" });
    },
    close() {
      worker?.terminate();
      worker = null;
    },
  };
}
