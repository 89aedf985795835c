import { describe, expect, test } from "bun:test";
import { createHitWriter, QueueFullError, WriterStoppedError, type Timer } from "../../src/track/hits.ts";

/** A timer the test fires by hand: no sleeps, no real time. */
function manualTimer() {
  const pending: { fn: () => void; ms: number; id: number }[] = [];
  let next = 0;
  const timer: Timer = {
    set(fn, ms) {
      pending.push({ fn, ms, id: ++next });
      return next;
    },
    clear(h) {
      const i = pending.findIndex((p) => p.id === h);
      if (i >= 0) pending.splice(i, 1);
    },
  };
  return {
    timer,
    pending,
    /** Fires every scheduled callback, then lets the commits' promises settle. */
    async fire() {
      for (const p of pending.splice(0)) p.fn();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    },
  };
}

type State = "pending" | "resolved" | "rejected";
const settled = async <T>(p: Promise<T>): Promise<State> => {
  let state = "pending" as State;
  p.then(
    () => (state = "resolved"),
    () => (state = "rejected"),
  );
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return state;
};

describe("group commit", () => {
  test("hits of one window are committed in one call; each promise resolves after its commit", async () => {
    const batches: number[][] = [];
    const t = manualTimer();
    const w = createHitWriter<number>({ commit: (b) => void batches.push([...b]), timer: t.timer, windowMs: 3 });
    const ps = [1, 2, 3].map((n) => w.enqueue(n));
    expect(t.pending.map((p) => p.ms)).toEqual([3]); // one flush scheduled, after the window
    expect(await settled(ps[0]!)).toBe("pending");
    expect(batches).toEqual([]);
    await t.fire();
    expect(batches).toEqual([[1, 2, 3]]);
    for (const p of ps) expect(await settled(p)).toBe("resolved");
    const next = w.enqueue(4);
    await t.fire();
    await next;
    expect(batches).toEqual([[1, 2, 3], [4]]);
    expect(w.stats()).toEqual({ queued: 4, committed: 4, failed: 0, refused: 0, batches: 2 });
  });

  test("a full batch does not wait for the window; batches hold at most maxBatch", async () => {
    const batches: number[][] = [];
    const t = manualTimer();
    const w = createHitWriter<number>({ commit: (b) => void batches.push([...b]), timer: t.timer, windowMs: 50, maxBatch: 2 });
    const ps = [1, 2, 3, 4, 5].map((n) => w.enqueue(n));
    expect(t.pending.map((p) => p.ms)).toEqual([0]);
    await t.fire();
    await Promise.all(ps);
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  test("a failed commit rejects every hit of its batch, and only those", async () => {
    const t = manualTimer();
    let fail = true;
    const w = createHitWriter<string>({
      commit: () => {
        if (fail) throw new Error("disk I/O error");
      },
      timer: t.timer,
    });
    const a = w.enqueue("a");
    const b = w.enqueue("b");
    await t.fire();
    await expect(a).rejects.toThrow("disk I/O error");
    await expect(b).rejects.toThrow("disk I/O error");
    fail = false;
    const c = w.enqueue("c");
    await t.fire();
    await c;
    expect(w.stats()).toMatchObject({ committed: 1, failed: 2 });
  });

  test("an asynchronous commit runs one at a time; what arrives meanwhile is the next batch", async () => {
    const batches: string[][] = [];
    let release: () => void = () => {};
    const t = manualTimer();
    const w = createHitWriter<string>({
      commit: (b) => {
        batches.push([...b]);
        return new Promise<void>((r) => (release = r));
      },
      timer: t.timer,
    });
    const a = w.enqueue("a");
    await t.fire();
    expect(batches).toEqual([["a"]]);
    const b = w.enqueue("b");
    const c = w.enqueue("c");
    expect(t.pending).toEqual([]); // the running drain picks them up
    expect(await settled(a)).toBe("pending");
    release();
    await a;
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(batches).toEqual([["a"], ["b", "c"]]);
    release();
    await Promise.all([b, c]);
  });

  test("a caller that enqueues again as soon as its hit committed is not left behind", async () => {
    const batches: number[][] = [];
    const t = manualTimer();
    const w = createHitWriter<number>({ commit: (b) => void batches.push([...b]), timer: t.timer });
    const second = w.enqueue(1).then(() => w.enqueue(2));
    await t.fire();
    await t.fire();
    await second;
    expect(batches).toEqual([[1], [2]]);
  });
});

describe("bounds and shutdown", () => {
  test("past maxQueue waiting hits, enqueue refuses at once", async () => {
    const t = manualTimer();
    const w = createHitWriter<number>({ commit: () => {}, timer: t.timer, maxQueue: 2 });
    const ok = [w.enqueue(1), w.enqueue(2)];
    await expect(w.enqueue(3)).rejects.toBeInstanceOf(QueueFullError);
    expect(w.stats().refused).toBe(1);
    await t.fire();
    await Promise.all(ok);
    const again = w.enqueue(4); // room again once committed
    await t.fire();
    await again;
    expect(w.stats()).toMatchObject({ refused: 1, committed: 3 });
  });

  test("tick commits now; stop commits what is queued and then refuses", async () => {
    const batches: number[][] = [];
    const t = manualTimer();
    const w = createHitWriter<number>({ commit: (b) => void batches.push([...b]), timer: t.timer, windowMs: 1000 });
    const a = w.enqueue(1);
    await w.tick();
    await a;
    expect(batches).toEqual([[1]]);
    expect(t.pending).toEqual([]);
    const b = w.enqueue(2);
    const c = w.enqueue(3);
    await w.stop();
    await Promise.all([b, c]);
    expect(batches).toEqual([[1], [2, 3]]);
    await expect(w.enqueue(4)).rejects.toBeInstanceOf(WriterStoppedError);
  });

  test("the real timer: a hit is committed within its window without tick()", async () => {
    const committed: number[] = [];
    const w = createHitWriter<number>({ commit: (b) => void committed.push(...b), windowMs: 1 });
    await Promise.all([w.enqueue(1), w.enqueue(2)]);
    expect(committed).toEqual([1, 2]);
    await w.stop();
  });
});
