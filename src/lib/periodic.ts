// A job that runs every so often in the background (retention, the DNS verifier). One run at
// a time; the next is scheduled when a run ends, so a slow run never overlaps the next one.
// stop() waits for a run in progress, so nothing touches the store after the caller closes it.

/** The timer functions a periodic job uses; tests pass their own to move time by hand. */
export type Timers = {
  /** Calls `fn` once, `ms` from now; returns what cancel() takes. */
  schedule(fn: () => void, ms: number): unknown;
  cancel(handle: unknown): void;
};

export const realTimers: Timers = {
  schedule: (fn, ms) => setTimeout(fn, ms),
  cancel: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export type JobContext = {
  /** Aborted by stop(): a long run ends at its next step, a request in flight may be cancelled. */
  signal: AbortSignal;
  /** Waits `ms` on the job's timers; returns at once when stop() is called. */
  pause(ms: number): Promise<void>;
};

export type Periodic = {
  /** One run now, after any run in progress; awaited. The schedule is not changed. */
  tick(): Promise<void>;
  /** No further runs; resolves once a run in progress has ended. */
  stop(): Promise<void>;
};

export function startPeriodic(opts: {
  /** Delay before the first run. */
  firstMs: number;
  /** Delay from the end of one run to the start of the next. */
  everyMs: number;
  run: (ctx: JobContext) => Promise<void>;
  /** A run that throws; the schedule goes on. */
  onError: (err: unknown) => void;
  timers?: Timers;
}): Periodic {
  const timers = opts.timers ?? realTimers;
  const stopping = new AbortController();
  const { signal } = stopping;
  let timer: unknown = null;
  // Runs are chained: a tick() during a scheduled run waits for it instead of overlapping.
  let chain: Promise<void> = Promise.resolve();

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        timers.cancel(handle);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const handle = timers.schedule(done, ms);
      signal.addEventListener("abort", done);
    });
  const ctx: JobContext = { signal, pause };

  const runOnce = async () => {
    if (signal.aborted) return;
    try {
      await opts.run(ctx);
    } catch (err) {
      opts.onError(err);
    }
  };
  const tick = () => {
    const run = chain.then(runOnce);
    // Only an onError that throws rejects; the caller sees it, later runs still chain.
    chain = run.catch(() => {});
    return run;
  };
  const schedule = (ms: number) => {
    if (signal.aborted) return;
    timer = timers.schedule(() => {
      timer = null;
      void tick().finally(() => schedule(opts.everyMs));
    }, ms);
  };
  schedule(opts.firstMs);

  return {
    tick,
    async stop() {
      stopping.abort();
      if (timer !== null) timers.cancel(timer);
      timer = null;
      await chain;
    },
  };
}
