// The parser on its own thread must give exactly what the in-thread parser gives, chunk by
// chunk (rows, state, counts), however the chunk crosses threads; a reset drops what was fed
// before it; a thread that dies fails what waits on it until a reset starts another; a parser
// that is closed refuses more work instead of hanging.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { generate } from "../../bench/postfix-log.ts";
import type { ChunkParser } from "../../src/ingest/chunk-parser.ts";
import { workerParser } from "../../src/ingest/chunk-parser-worker.ts";
import { tempDir, within } from "../helpers/hookd.ts";
import { DIE_ONCE, DYING_PARSE_WORKER } from "./helpers/dying.ts";
import { inThreadParser } from "./helpers/parse.ts";

const setup = { format: "postfix" as const, host: "mx1" };
const lines = generate(12_000);
// Chunks of several sizes, an empty one, and one of a single empty line.
const chunks = [lines.slice(0, 5000), [], [""], lines.slice(5000, 5001), lines.slice(5001, 12_000)];

async function run(p: ChunkParser) {
  const out = [];
  for (const [i, c] of chunks.entries()) out.push(await p.feed(c, i % 2 === 0));
  p.close();
  return out;
}

describe("workerParser", () => {
  test("chunk by chunk the same rows, snapshots and counts as the in-thread parser", async () => {
    const here = await run(inThreadParser(setup, null));
    const there = await run(workerParser(setup, null));
    expect(there.map((c) => c.rows.bodies.length)).toEqual(here.map((c) => c.rows.bodies.length));
    expect(here[0]!.rows.bodies.length).toBeGreaterThan(1000);
    expect(there).toEqual(here);
    expect(there[2]!.stats.lines).toBe(5001);
  });

  test("reset starts again from the given state; chunks fed before it are dropped", async () => {
    const p = workerParser(setup, null);
    try {
      const first = await p.feed(lines.slice(0, 3000), true);
      void p.feed(lines.slice(3000, 6000), false); // dropped by the reset below
      p.reset(JSON.parse(first.snapshot!));
      const again = await p.feed(lines.slice(3000, 6000), true);
      const ref = inThreadParser(setup, null);
      await ref.feed(lines.slice(0, 3000), false);
      const expected = await ref.feed(lines.slice(3000, 6000), true);
      expect(again.rows).toEqual(expected.rows);
      expect(again.snapshot).toBe(expected.snapshot);
    } finally {
      p.close();
    }
  });

  test("a thread that dies fails the waiting chunks and every feed until a reset, which starts a new thread from its state", async () => {
    const dir = tempDir();
    const die = path.join(dir, "die");
    fs.writeFileSync(die, "");
    const p = workerParser(setup, null, DYING_PARSE_WORKER);
    try {
      const first = await p.feed(lines.slice(0, 3000), true);
      const failed = [p.feed([`${DIE_ONCE} ${die}`], false), p.feed(lines.slice(3000, 6000), false)].map((f) =>
        f.then(
          () => "resolved",
          (e: Error) => e.message,
        ),
      );
      expect(await Promise.all(failed)).toEqual(["the parse worker exited (exit code 1)", "the parse worker exited (exit code 1)"]);
      expect(fs.existsSync(die)).toBe(false);
      expect(
        await p.feed(lines.slice(3000, 6000), false).then(
          () => "resolved",
          (e: Error) => e.message,
        ),
      ).toBe("the parse worker exited (exit code 1)");
      p.reset(JSON.parse(first.snapshot!));
      const again = await within(p.feed(lines.slice(3000, 6000), true), 10_000, null);
      const ref = inThreadParser(setup, null);
      await ref.feed(lines.slice(0, 3000), false);
      const expected = await ref.feed(lines.slice(3000, 6000), true);
      expect(again?.rows).toEqual(expected.rows);
      expect(again?.snapshot).toBe(expected.snapshot);
    } finally {
      p.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("after close, feed rejects at once", async () => {
    const p = workerParser(setup, null);
    p.close();
    expect(
      await within(
        p.feed(lines.slice(0, 10), false).then(
          () => "resolved",
          (e: Error) => e.message,
        ),
        5000,
        "hung",
      ),
    ).toBe("the parse worker is closed");
  });
});
