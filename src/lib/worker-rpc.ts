// Request/response over a Worker, for hookd's threads (the ingest worker, each source's parse
// worker). The main side calls a method by name and gets a promise of its result; the worker
// side answers from a table of methods. A call carries an id, so answers may come in any order
// and one left behind (see forget) is recognised and dropped. A worker can also notify its
// parent one-way (progress, log lines). A worker that dies — it exited, or an exception
// escaped it — fails every call waiting on it and is started again on the next call, with
// `workerData()` as it is then: the caller's saved state. The structured clone copies the
// argument and the result as they are; a call adds only its id and the method's name.

/** A worker's methods: one structured-clonable argument (or none) and a result, or a promise of one. */
export type RpcMethods = { [method: string]: (...args: never[]) => unknown };

type Args<F> = F extends (...args: infer A) => unknown ? (A extends [] ? [] : [A[0]]) : never;
type Result<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

/** Main → worker: id 0 is a one-way message (send), no answer expected. */
type Request = { id: number; method: string; arg: unknown };
/** Worker → main: id 0 is a notification (value is the note); otherwise the answer to call id. */
type Reply = { id: number; value?: unknown; error?: string };

export type RpcClientOptions<Note> = {
  /** The worker's module (URL or path). */
  entry: string;
  /** How error messages name the worker, e.g. "the parse worker". */
  name: string;
  /** workerData for each worker started: called at each start, so a restart begins from the state saved by then. */
  workerData?: () => unknown;
  onNote?: (note: Note) => void;
  /** After a worker died on its own (not on close), its waiting calls already rejected. */
  onExit?: (why: string) => void;
};

export interface RpcClient<M extends RpcMethods> {
  /** Calls `method` in the worker (started if none runs); rejects with its error, or if the worker dies first. */
  call<K extends keyof M & string>(method: K, ...arg: Args<M[K]>): Promise<Result<M[K]>>;
  /** Posts `method` without waiting for an answer (starting a worker if none runs; nothing once closed). An error in it ends the worker. */
  send<K extends keyof M & string>(method: K, ...arg: Args<M[K]>): void;
  /** Drops every call waiting for an answer without settling it: for callers that no longer await them. */
  forget(): void;
  /** Whether a worker is running now (calls start one when not). */
  readonly running: boolean;
  /** Ends the worker for good: waiting calls reject, later ones reject at once. */
  close(): void;
}

export function rpcClient<M extends RpcMethods, Note = never>(opts: RpcClientOptions<Note>): RpcClient<M> {
  let worker: Worker | null = null;
  let closed = false;
  let nextId = 1;
  let pending = new Map<number, { resolve: (v: never) => void; reject: (e: Error) => void }>();

  const failAll = (err: Error) => {
    const p = pending;
    pending = new Map();
    for (const { reject } of p.values()) reject(err);
  };

  function start(): Worker {
    const w = new Worker(opts.entry, (opts.workerData ? { workerData: opts.workerData() } : {}) as WorkerOptions);
    let error: string | null = null;
    w.onmessage = (ev: MessageEvent<Reply>) => {
      const m = ev.data;
      if (m.id === 0) {
        opts.onNote?.(m.value as Note);
        return;
      }
      const p = pending.get(m.id);
      if (!p) return; // forgotten
      pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.value as never);
    };
    // An exception that escapes the worker ends it: the "close" that follows reports it.
    w.addEventListener("error", (e) => {
      error ??= errorText(e as ErrorEvent);
    });
    w.addEventListener("close", (e) => {
      if (worker !== w) return; // closed on purpose, or already replaced
      worker = null;
      const why = `${opts.name} exited (${error ?? `exit code ${(e as CloseEvent).code}`})`;
      failAll(new Error(why));
      opts.onExit?.(why);
    });
    return w;
  }

  function post(id: number, method: string, args: unknown[]) {
    worker ??= start();
    worker.postMessage({ id, method, arg: args[0] } satisfies Request);
  }

  return {
    call(method, ...arg) {
      if (closed) return Promise.reject(new Error(`${opts.name} is closed`));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        post(id, method, arg);
      });
    },
    send(method, ...arg) {
      if (!closed) post(0, method, arg);
    },
    forget() {
      pending = new Map();
    },
    get running() {
      return worker !== null;
    },
    close() {
      closed = true;
      const w = worker;
      worker = null;
      w?.terminate();
      failAll(new Error(`${opts.name} is closed`));
    },
  };
}

/** The first line of what escaped a worker: Bun's message also quotes the source around it. */
function errorText(e: ErrorEvent): string {
  const msg = e.message ?? String(e.error);
  return /^(?:\w*Error|error): .*$/m.exec(msg)?.[0] ?? msg.split("\n")[0] ?? "error";
}

// The worker's side. A worker module calls serveRpc once with its methods (top level), and
// notifyParent whenever it has something to say.

type WorkerScope = { onmessage: ((ev: MessageEvent<Request>) => void) | null; postMessage(m: Reply): void };
const scope = globalThis as unknown as WorkerScope;

/**
 * Answers calls with `methods`: a result (or a promise's) goes back as the answer, a thrown
 * error (or a rejection) as the call's rejection. Answers are posted as soon as a method
 * returns, so work a method leaves for after its answer (a collection) can go in a microtask.
 */
export function serveRpc<M extends RpcMethods>(methods: M): void {
  scope.onmessage = (ev) => {
    const { id, method, arg } = ev.data;
    const fn = Object.hasOwn(methods, method) ? (methods[method] as (arg: unknown) => unknown) : undefined;
    if (id === 0) {
      // Nobody waits for a one-way message: an error in it escapes and ends the worker, and
      // the client fails what waits on it and starts another.
      if (!fn) throw new Error(`no method "${method}"`);
      void fn(arg);
      return;
    }
    try {
      if (!fn) throw new Error(`no method "${method}"`);
      const value = fn(arg);
      if (value instanceof Promise)
        value.then(
          (v) => scope.postMessage({ id, value: v }),
          (err) => scope.postMessage({ id, error: messageOf(err) }),
        );
      else scope.postMessage({ id, value });
    } catch (err) {
      scope.postMessage({ id, error: messageOf(err) });
    }
  };
}

/** Posts a one-way note to the thread that started this worker (its client's onNote). */
export function notifyParent<Note>(note: Note): void {
  scope.postMessage({ id: 0, value: note });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
