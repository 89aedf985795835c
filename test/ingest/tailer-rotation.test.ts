// Rotation and truncation: one scenario at a time, then a writer racing the reader.

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { appendFile, copyFile, open, rename, rm, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Reader, fakeClock, numbered, tempDir, text } from "./tailer-helpers.ts";

let dir: string;
let cleanup: () => Promise<void>;
let file: string;
const readers: Reader[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  file = join(dir, "mail.log");
});
afterEach(async () => {
  for (const r of readers.splice(0)) await r.tailer.close();
  await cleanup();
});

function reader(opts: Partial<ConstructorParameters<typeof Reader>[0]> = {}): Reader {
  const r = new Reader({ path: file, startAt: "beginning", rotateWaitMs: 0, ...opts });
  readers.push(r);
  return r;
}

/** logrotate's rename scheme: .N → .N+1, …, the file → .1. */
async function shiftRotations(): Promise<void> {
  for (let i = 50; i >= 1; i--) await rename(`${file}.${i}`, `${file}.${i + 1}`).catch(() => {});
  await rename(file, `${file}.1`);
}

describe("rename rotation (logrotate create)", () => {
  test("the old file is drained, then the new one is read from 0", async () => {
    await writeFile(file, text(numbered(1, 3)));
    const r = reader();
    await r.drain();
    await appendFile(file, "line 4\n"); // not read before the rename
    await shiftRotations();
    await writeFile(file, text(numbered(5, 6)));
    expect(await r.drain()).toEqual(numbered(4, 6));
    const first = r.chunks.find((c) => c.lines.includes("line 5"))!;
    expect(first.rotated).toBe(true);
    expect(first.checkpoint.ino).toBe((await stat(file)).ino);
    expect(r.tailer.state()).toMatchObject({ draining: false, counts: { rotations: 1 } });
  });

  test("a writer still appending to the old file is waited for rotateWaitMs; its last partial line is flushed", async () => {
    const clock = fakeClock();
    const old = await open(file, "a");
    await old.write(text(numbered(1, 2)));
    const r = reader({ rotateWaitMs: 1000, now: clock.now });
    expect(await r.drain()).toEqual(numbered(1, 2));
    await shiftRotations();
    await writeFile(file, "line 6\n"); // created; the writer has not reopened yet
    expect(await r.drain()).toEqual([]);
    expect(r.tailer.state().draining).toBe(true);
    await old.write("line 3\nline 4\n");
    expect(await r.drain()).toEqual(numbered(3, 4));
    clock.advance(999);
    await old.write("line 5 without newline");
    await old.close();
    expect(await r.drain()).toEqual([]);
    clock.advance(999);
    expect(await r.drain()).toEqual([]); // it changed 999 ms ago: still waiting
    clock.advance(1);
    expect(await r.drain()).toEqual(["line 5 without newline", "line 6"]);
    expect(r.tailer.state().draining).toBe(false);
  });

  test("two rotations between polls: the file in between is read too (logrotate numbering)", async () => {
    await writeFile(file, "line 1\n");
    const r = reader();
    await r.drain();
    await appendFile(file, "line 2\n");
    await shiftRotations();
    await writeFile(file, "line 3\n");
    await shiftRotations();
    await writeFile(file, "line 4\n");
    expect(await r.drain()).toEqual(numbered(2, 4));
  });

  test("deleted: state missing while the open file is still read; a new file is read from 0", async () => {
    const writer = await open(file, "a");
    await writer.write("line 1\n");
    const r = reader();
    await r.drain();
    await rm(file);
    expect(await r.drain()).toEqual([]);
    expect(r.tailer.state().status).toBe("missing");
    await writer.write("line 2\n"); // a writer holding the deleted file
    await writer.close();
    expect(await r.drain()).toEqual(["line 2"]);
    await writeFile(file, "line 3\n");
    expect(await r.drain()).toEqual(["line 3"]);
    expect(r.tailer.state().status).toBe("idle");
  });
});

describe("truncation (copytruncate)", () => {
  test("the copy is finished from the offset, then the file is read from 0: nothing doubled or lost", async () => {
    await writeFile(file, text(numbered(1, 5)));
    const r = reader({ maxLines: 3 });
    expect((await r.pollOnce())?.lines).toEqual(numbered(1, 3));
    await appendFile(file, "line 6\n");
    await copyFile(file, `${file}.1`);
    await truncate(file, 0);
    await appendFile(file, "line 7\n");
    await r.drain();
    expect(r.lines).toEqual(numbered(1, 7));
    expect(r.chunks.find((c) => c.lines.includes("line 7"))?.truncated).toBe(true);
    expect(r.tailer.state().counts.truncations).toBe(1);
  });

  test("without a copy: restart at 0", async () => {
    await writeFile(file, text(numbered(1, 5)));
    const r = reader();
    await r.drain();
    await truncate(file, 0);
    expect(await r.drain()).toEqual([]);
    expect(r.committed?.offset).toBe(0); // the reset is returned to commit
    await appendFile(file, "line 6\n");
    expect(await r.drain()).toEqual(["line 6"]);
  });

  test("truncated and regrown past the offset before the next poll: detected by the fingerprint", async () => {
    await writeFile(file, text(numbered(1, 3)));
    const r = reader();
    await r.drain();
    await truncate(file, 0);
    await appendFile(file, text(numbered(10, 30)));
    expect(await r.drain()).toEqual(numbered(10, 30));
  });
});

describe("rotated while down", () => {
  async function readThenStop(upTo: number): Promise<Reader> {
    await writeFile(file, text(numbered(1, upTo)));
    const r = reader();
    await r.drain();
    await r.tailer.close();
    return r;
  }

  test("renamed: the old file is found as <path>.1 and finished from the checkpoint", async () => {
    const before = await readThenStop(5);
    await appendFile(file, text(numbered(6, 8)));
    await shiftRotations();
    await writeFile(file, text(numbered(9, 10)));
    const after = reader({ checkpoint: before.committed });
    expect(await after.drain()).toEqual(numbered(6, 10));
    expect(after.chunks.find((c) => c.lines.includes("line 9"))?.rotated).toBe(true);
    expect(after.tailer.state().counts).toMatchObject({ rotations: 1, checkpointsLost: 0 });
  });

  test("renamed twice: <path>.2 is finished, then <path>.1, then the file", async () => {
    const before = await readThenStop(2);
    await appendFile(file, "line 3\n");
    await shiftRotations();
    await writeFile(file, "line 4\n");
    await shiftRotations();
    await writeFile(file, "line 5\n");
    const after = reader({ checkpoint: before.committed });
    expect(await after.drain()).toEqual(numbered(3, 5));
  });

  test("renamed under another name in the same directory: found by device and inode", async () => {
    const before = await readThenStop(2);
    await appendFile(file, "line 3\n");
    await rename(file, join(dir, "archived"));
    await writeFile(file, "line 4\n");
    const after = reader({ checkpoint: before.committed });
    expect(await after.drain()).toEqual(numbered(3, 4));
  });

  test("copytruncated: the copy is found by its first bytes and finished from the checkpoint", async () => {
    const before = await readThenStop(3);
    await appendFile(file, text(numbered(4, 5)));
    await copyFile(file, `${file}.1`);
    await truncate(file, 0);
    await appendFile(file, "line 6\n");
    const after = reader({ checkpoint: before.committed });
    expect(await after.drain()).toEqual(numbered(4, 6));
    expect(after.tailer.state().counts).toMatchObject({ truncations: 1, checkpointsLost: 0 });
  });

  test("the old file is gone: the new file is read from 0 and the loss is counted", async () => {
    const before = await readThenStop(3);
    await rm(file);
    await writeFile(file, "line 9\n");
    const after = reader({ checkpoint: before.committed });
    expect(await after.drain()).toEqual(["line 9"]);
    expect(after.tailer.state().counts.checkpointsLost).toBe(1);
  });

  test("same inode, other first bytes (inode reused, or rewritten): read from 0", async () => {
    const before = await readThenStop(3);
    const cp = { ...before.committed!, fingerprint: `21:${"0".repeat(64)}` };
    const after = reader({ checkpoint: cp });
    expect(await after.drain()).toEqual(numbered(1, 3));
  });

  test("the file is missing and so is the old one: missing until it appears, then from 0", async () => {
    const before = await readThenStop(3);
    await rm(file);
    const after = reader({ checkpoint: before.committed });
    expect(await after.drain()).toEqual([]);
    expect(after.tailer.state().status).toBe("missing");
    await writeFile(file, "line 1 again\n");
    expect(await after.drain()).toEqual(["line 1 again"]);
  });
});

/**
 * A writer appending numbered lines in small batches while the reader polls (woken by the
 * writer, as watchFile would), commits, and now and then restarts from its committed
 * checkpoint. Bounded by a deadline.
 */
async function race(opts: {
  total: number;
  rotateEvery: number;
  rotate: (writer: { write(s: string): Promise<void> }, next: () => number) => Promise<void>;
  rotateWaitMs: number;
  /** Rotate only once the reader has read a line of the current file (see the copytruncate test). */
  readerSeesEachFile?: boolean;
}): Promise<{ lines: string[]; reader: Reader }> {
  await writeFile(file, "");
  const r = reader({ rotateWaitMs: opts.rotateWaitMs, maxLines: 500 });
  const deadline = Date.now() + 30_000;
  let fh = await open(file, "a");
  let n = 0;
  let done = false;
  let wake = () => {};
  const write = async (s: string) => {
    await fh.write(s);
    wake();
  };
  const next = () => ++n;
  const lastRead = () => Number(r.lines.at(-1)?.slice("line ".length) ?? 0);

  const writer = (async () => {
    let sinceRotation = 0;
    let fileStart = 1;
    while (n < opts.total) {
      const batch = Math.min(1 + ((n * 7) % 40), opts.total - n);
      let chunk = "";
      for (let i = 0; i < batch; i++) chunk += `line ${next()}\n`;
      await write(chunk);
      sinceRotation += batch;
      if (sinceRotation >= opts.rotateEvery && n < opts.total - 10) {
        sinceRotation = 0;
        while (opts.readerSeesEachFile && lastRead() < fileStart && Date.now() < deadline) await Bun.sleep(1);
        await opts.rotate({ write }, next);
        fileStart = n + 1;
        await fh.close();
        fh = await open(file, "a"); // the writer reopens (after logrotate's HUP)
      }
    }
    await fh.close();
    done = true;
  })();

  let polls = 0;
  for (;;) {
    const chunk = await r.pollOnce();
    if (++polls % 97 === 0) await r.restart();
    if (chunk) continue;
    const s = r.tailer.state();
    if (done && !s.draining && r.lines.at(-1) === `line ${opts.total}`) break;
    if (Date.now() > deadline) throw new Error(`race: not done by the deadline; ${r.lines.length} lines, state ${JSON.stringify(s)}`);
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, 5); // the tailer's own deadlines (rotateWaitMs), like watchFile's timer
    });
  }
  await writer;
  return { lines: r.lines, reader: r };
}

describe("a writer racing the reader", () => {
  test("rename rotation every 2,500 lines, with late writes to the old file: every line exactly once, in order", async () => {
    const total = 20_000;
    const { lines, reader: r } = await race({
      total,
      rotateEvery: 2_500,
      rotateWaitMs: 100,
      async rotate(writer, next) {
        await shiftRotations();
        await writeFile(file, ""); // logrotate's create
        await writer.write(`line ${next()}\nline ${next()}\n`); // written before the writer reopens
      },
    });
    expect(lines.length).toBe(total);
    expect(lines).toEqual(numbered(1, total));
    expect(r.chunks.filter((c) => c.rotated).length).toBeGreaterThanOrEqual(7); // it did see them
  });

  // The writer waits until the reader has read something of each file before the next
  // copytruncate: a file the tailer last saw at offset 0 that is filled, copied and truncated
  // before its next poll cannot be told from one that just grew (no fingerprint at offset 0).
  test("copytruncate every 2,500 lines: nothing doubled, only lines written between copy and truncate lost", async () => {
    const total = 20_000;
    const window = new Set<string>();
    const { lines, reader: r } = await race({
      total,
      rotateEvery: 2_500,
      rotateWaitMs: 100,
      readerSeesEachFile: true,
      async rotate(writer, next) {
        for (let i = 50; i >= 1; i--) await rename(`${file}.${i}`, `${file}.${i + 1}`).catch(() => {});
        await copyFile(file, `${file}.1`);
        const a = next();
        const b = next();
        window.add(`line ${a}`).add(`line ${b}`);
        await writer.write(`line ${a}\nline ${b}\n`); // after the copy, before the truncate
        await truncate(file, 0);
      },
    });
    expect(new Set(lines).size).toBe(lines.length); // zero doubled
    const nums = lines.map((l) => Number(l.slice(5)));
    expect(nums.every((v, i) => i === 0 || v > nums[i - 1]!)).toBe(true); // in order
    const read = new Set(lines);
    const lost = numbered(1, total).filter((l) => !read.has(l));
    expect(lost.filter((l) => !window.has(l))).toEqual([]); // only the window may be lost
    expect(window.size).toBe(14);
    expect(r.chunks.filter((c) => c.rotated || c.truncated).length).toBeGreaterThanOrEqual(7); // it did see them
  });
});
