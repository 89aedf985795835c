// Group commit for tracking hits. Each hit waits at most `windowMs` for company, then every
// hit queued so far (up to `maxBatch`) is committed in ONE call of `commit` — later, one
// BEGIN IMMEDIATE transaction — and each caller's promise settles with its batch: resolved
// once committed, rejected with the commit's error. At 10,000 clicks/s that is ~20 hits per
// transaction and one fsync for all of them instead of one each.
//
// `commit` may be synchronous (bun:sqlite on this thread: it blocks the thread while it
// runs) or return a promise (a store on another thread); one commit runs at a time, and
// what arrives meanwhile forms the next batch. A failed batch is not retried here: the
// callers learn it (the one-click answer becomes a 503 and the provider retries).
//
// The queue is bounded: past `maxQueue` waiting hits, `enqueue` rejects at once with
// QueueFullError — memory stays bounded when the disk cannot keep up.

export type Timer = {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
};

export const realTimer: Timer = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export type HitWriterOptions<T> = {
  commit: (batch: T[]) => void | Promise<void>;
  /** How long the first hit of a batch waits for others. Default 2 ms. */
  windowMs?: number;
  /** Most hits in one commit. Default 1,000. */
  maxBatch?: number;
  /** Most hits waiting; more are refused. Default 10,000. */
  maxQueue?: number;
  timer?: Timer;
};

export type HitWriterStats = { queued: number; committed: number; failed: number; refused: number; batches: number };

export type HitWriter<T> = {
  /** Resolves once `item` is committed; rejects with QueueFullError, WriterStoppedError or the commit's error. */
  enqueue(item: T): Promise<void>;
  /** Commits everything queued now, without waiting for the window (tests, shutdown). */
  tick(): Promise<void>;
  /** Refuses new hits, commits the queued ones, and resolves when the last commit is done. */
  stop(): Promise<void>;
  stats(): HitWriterStats;
};

export class QueueFullError extends Error {
  override name = "QueueFullError";
}

export class WriterStoppedError extends Error {
  override name = "WriterStoppedError";
}

type Waiting<T> = { item: T; resolve: () => void; reject: (err: unknown) => void };

export function createHitWriter<T>(opts: HitWriterOptions<T>): HitWriter<T> {
  const windowMs = opts.windowMs ?? 2;
  const maxBatch = opts.maxBatch ?? 1000;
  const maxQueue = opts.maxQueue ?? 10_000;
  const timer = opts.timer ?? realTimer;
  let queue: Waiting<T>[] = [];
  let handle: unknown = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  const stats: HitWriterStats = { queued: 0, committed: 0, failed: 0, refused: 0, batches: 0 };

  const schedule = (ms: number) => {
    if (handle !== null || running) return; // a pending flush or the running one picks it up
    handle = timer.set(() => {
      handle = null;
      void drain();
    }, ms);
  };

  const commitOne = async (batch: Waiting<T>[]) => {
    stats.batches++;
    try {
      await opts.commit(batch.map((w) => w.item));
      stats.committed += batch.length;
      for (const w of batch) w.resolve();
    } catch (err) {
      stats.failed += batch.length;
      for (const w of batch) w.reject(err);
    }
  };

  // Commits batches until the queue is empty; one drain at a time.
  const drain = (): Promise<void> => {
    if (running) return running;
    running = (async () => {
      while (queue.length > 0) {
        const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
        queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
        await commitOne(batch);
      }
    })().finally(() => {
      running = null;
      // A caller woken by the last batch may have queued more before this ran.
      if (queue.length > 0) schedule(0);
    });
    return running;
  };

  return {
    enqueue(item) {
      if (stopped) return Promise.reject(new WriterStoppedError("hit writer: stopped"));
      if (queue.length >= maxQueue) {
        stats.refused++;
        return Promise.reject(new QueueFullError(`hit writer: ${maxQueue} hits waiting; refusing more until the store catches up`));
      }
      stats.queued++;
      const p = new Promise<void>((resolve, reject) => queue.push({ item, resolve, reject }));
      if (queue.length >= maxBatch && handle !== null) {
        timer.clear(handle); // a full batch does not wait out the window
        handle = null;
      }
      schedule(queue.length >= maxBatch ? 0 : windowMs);
      return p;
    },
    async tick() {
      if (handle !== null) timer.clear(handle);
      handle = null;
      while (queue.length > 0 || running) await drain();
    },
    async stop() {
      stopped = true;
      await this.tick();
    },
    stats: () => ({ ...stats }),
  };
}
