// startPeriodic (src/lib/periodic.ts): runs on its schedule, one run at a time, the next
// only once a run has ended; tick() runs it now; stop() ends pauses, waits for the run in
// progress and prevents any later run. Time is moved by hand with timers the test owns.
import { describe, expect, test } from "bun:test";
import { startPeriodic, type Timers } from "../../src/lib/periodic.ts";

/** Timers on a clock that moves only when advance() is called. */
function manualTimers() {
  let now = 0;
  let seq = 0;
  const due = new Map<number, { at: number; fn: () => void }>();
  const timers: Timers = {
    schedule(fn, ms) {
      due.set(++seq, { at: now + ms, fn });
      return seq;
    },
    cancel(handle) {
      due.delete(handle as number);
    },
  };
  return {
    timers,
    get scheduled() {
      return due.size;
    },
    /** Fires every timer that falls due within `ms`, in order, letting each callback's promises settle. */
    async advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const next = [...due.entries()].filter(([, t]) => t.at <= end).sort(([a, x], [b, y]) => x.at - y.at || a - b)[0];
        if (!next) break;
        due.delete(next[0]);
        now = next[1].at;
        next[1].fn();
        await settled();
      }
      now = end;
      await settled();
    },
  };
}

/** Lets every promise continuation already queued run. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A promise the test resolves when it likes. */
function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe("startPeriodic", () => {
  test("first run after firstMs, the next everyMs after a run ends, never two at once", async () => {
    const clock = manualTimers();
    let runs = 0;
    let running = 0;
    let hold = gate();
    const job = startPeriodic({
      firstMs: 1000,
      everyMs: 60_000,
      timers: clock.timers,
      onError: (err) => {
        throw err;
      },
      async run() {
        runs++;
        running++;
        await hold.opened;
        running--;
      },
    });
    await clock.advance(999);
    expect(runs).toBe(0);
    await clock.advance(1);
    expect(runs).toBe(1);
    // A slow run: however long it takes, no second run starts meanwhile.
    await clock.advance(10 * 60_000);
    expect({ runs, running }).toEqual({ runs: 1, running: 1 });
    hold.open();
    await settled();
    hold = gate();
    hold.open();
    await clock.advance(59_999);
    expect(runs).toBe(1);
    await clock.advance(1);
    expect(runs).toBe(2);
    await job.stop();
  });

  test("stop() aborts the run's signal, ends its pause, waits for it to finish, and no run comes after", async () => {
    const clock = manualTimers();
    const steps: string[] = [];
    const job = startPeriodic({
      firstMs: 10,
      everyMs: 10,
      timers: clock.timers,
      onError: () => {},
      async run({ signal, pause }) {
        steps.push("start");
        while (!signal.aborted) await pause(1000);
        await settled(); // the run's own cleanup, which stop() must wait for
        steps.push("end");
      },
    });
    await clock.advance(10);
    expect(steps).toEqual(["start"]);
    const stopped = job.stop();
    // Nothing moves the clock: only the abort can end the pause.
    await stopped;
    expect(steps).toEqual(["start", "end"]);
    expect(clock.scheduled).toBe(0);
    await clock.advance(60_000);
    await job.tick();
    expect(steps).toEqual(["start", "end"]);
  });

  test("tick() runs the job now and resolves once it has ended; one during a run waits for it", async () => {
    const clock = manualTimers();
    const log: string[] = [];
    let hold = gate();
    let n = 0;
    const job = startPeriodic({
      firstMs: 1000,
      everyMs: 1000,
      timers: clock.timers,
      onError: () => {},
      async run() {
        const id = ++n;
        log.push(`start ${id}`);
        await hold.opened;
        log.push(`end ${id}`);
      },
    });
    await clock.advance(1000); // the scheduled run starts and waits on the gate
    const ticked = job.tick();
    await settled();
    expect(log).toEqual(["start 1"]);
    hold.open();
    await ticked;
    expect(log).toEqual(["start 1", "end 1", "start 2", "end 2"]);
    hold = gate();
    hold.open();
    await job.stop();
  });

  test("a run that throws goes to onError and the schedule goes on", async () => {
    const clock = manualTimers();
    const errors: string[] = [];
    let runs = 0;
    const job = startPeriodic({
      firstMs: 100,
      everyMs: 100,
      timers: clock.timers,
      onError: (err) => errors.push((err as Error).message),
      async run() {
        runs++;
        if (runs === 1) throw new Error("disk full");
      },
    });
    await clock.advance(100);
    await clock.advance(100);
    expect({ runs, errors }).toEqual({ runs: 2, errors: ["disk full"] });
    await job.stop();
  });
});
