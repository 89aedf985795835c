// A pass that fails on every tick (the store's disk full) used to log "delivery tick failed"
// on every tick. The scheduler's loop runs here for real with a pass that fails for a while,
// on a clock that moves one second per pass: the failure is logged at once, then once a
// minute with how many were not logged, and "delivery tick recovered" once, when it works.
import { expect, test } from "bun:test";
import { createScheduler } from "../../src/deliver/scheduler.ts";
import { createLogger } from "../../src/lib/log.ts";
import { eventually } from "../helpers/eventually.ts";

type Line = { level: string; msg: string; [k: string]: unknown };

test("150 failing passes (150 s) → 3 lines, then one 'recovered'; a later failure logs at once again", async () => {
  const lines: Line[] = [];
  const log = createLogger({ write: (l) => lines.push(JSON.parse(l) as Line) });
  let clock = 1_000_000;
  let passes = 0;
  // Passes 1–150 fail (disk full), 151–199 work, 200–201 fail again, then work.
  const failing = (n: number) => n <= 150 || n === 200 || n === 201;
  const scheduler = createScheduler({
    pass: async () => {
      passes++;
      clock += 1000;
      if (failing(passes)) throw new Error("database or disk is full");
      return clock; // due at once: the loop keeps passing
    },
    answersWaiting: () => false,
    now: () => clock,
    log,
    idleMs: 1,
  });
  scheduler.start();
  await eventually(() => passes >= 260, { timeoutMs: 20_000, intervalMs: 5 });
  await scheduler.stop();

  const seen = lines.map(({ ts: _ts, ...rest }) => rest);
  expect(seen).toEqual([
    { level: "error", msg: "delivery tick failed", error: "database or disk is full" },
    // 60 s after the first line: failures 2–60 were not logged, 61 is.
    {
      level: "error",
      msg: "delivery tick failed",
      error: "database or disk is full",
      failures: 61,
      not_logged: 59,
      failing_for_ms: 60_000,
    },
    {
      level: "error",
      msg: "delivery tick failed",
      error: "database or disk is full",
      failures: 121,
      not_logged: 59,
      failing_for_ms: 120_000,
    },
    { level: "info", msg: "delivery tick recovered", failures: 150, failed_for_ms: 150_000 },
    { level: "error", msg: "delivery tick failed", error: "database or disk is full" },
    { level: "info", msg: "delivery tick recovered", failures: 2, failed_for_ms: 2000 },
  ]);
});
