import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { appendFile, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { overlongLine } from "../../src/ingest/line-reader.ts";
import { createTailer, watchFile } from "../../src/ingest/tailer.ts";
import { eventually } from "../helpers/eventually.ts";
import { Reader, numbered, tempDir, text } from "./tailer-helpers.ts";

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

describe("start", () => {
  test("beginning reads what is there", async () => {
    await writeFile(file, text(["a", "b"]));
    const r = reader();
    expect(await r.drain()).toEqual(["a", "b"]);
    expect(r.committed?.offset).toBe(4);
  });

  test("end skips what is there, and returns its start position to commit", async () => {
    await writeFile(file, text(["a", "b"]));
    const r = reader({ startAt: "end" });
    const first = await r.pollOnce();
    expect(first?.lines).toEqual([]);
    expect(first?.checkpoint.offset).toBe(4);
    expect(await r.tailer.poll()).toBeNull();
    await appendFile(file, "c\n");
    expect(await r.drain()).toEqual(["c"]);
  });

  test("end starts after the last complete line: a line being written is not cut", async () => {
    await writeFile(file, "a\nhalf a li");
    const r = reader({ startAt: "end" });
    expect(await r.drain()).toEqual([]);
    await appendFile(file, "ne\nc\n");
    expect(await r.drain()).toEqual(["half a line", "c"]);
  });

  test("start_at applies to the first run only: a checkpoint wins", async () => {
    await writeFile(file, text(numbered(1, 3)));
    const first = reader({ startAt: "end" });
    await first.drain();
    await first.tailer.close();
    await appendFile(file, text(numbered(4, 5))); // written while down
    const again = reader({ startAt: "end", checkpoint: first.committed });
    expect(await again.drain()).toEqual(numbered(4, 5));
  });
});

describe("resume", () => {
  test("a new tailer with the last committed checkpoint yields exactly the remaining lines", async () => {
    await writeFile(file, text(numbered(1, 10)));
    const r = reader({ maxLines: 3 });
    expect((await r.pollOnce())?.lines).toEqual(numbered(1, 3));
    expect((await r.pollOnce())?.lines).toEqual(numbered(4, 6));
    await r.restart();
    await appendFile(file, text(numbered(11, 12)));
    expect(await r.drain()).toEqual(numbered(7, 12));
    expect(r.lines).toEqual(numbered(1, 12));
    expect(r.chunks.every((c) => !c.rotated && !c.truncated)).toBe(true);
  });

  test("a checkpoint in a file shorter than 1 KiB still matches once the file grew", async () => {
    await writeFile(file, "x\n");
    const r = reader();
    await r.drain();
    expect(r.committed?.fingerprint.startsWith("2:")).toBe(true);
    await r.restart();
    await appendFile(file, text(numbered(1, 200)));
    expect(await r.drain()).toEqual(numbered(1, 200));
    expect(r.committed?.fingerprint.startsWith("1024:")).toBe(true);
    await r.restart();
    await appendFile(file, "last\n");
    expect(await r.drain()).toEqual(["last"]);
  });

  test("a checkpoint without a usable fingerprint (e.g. NULL in the store): device and inode decide", async () => {
    await writeFile(file, text(numbered(1, 3)));
    const r = reader();
    await r.drain();
    await appendFile(file, "line 4\n");
    const after = reader({ checkpoint: { ...r.committed!, fingerprint: "" } });
    expect(await after.drain()).toEqual(["line 4"]);
    expect(after.committed?.fingerprint.startsWith("28:")).toBe(true);
  });
});

describe("lines", () => {
  test("a partial last line is held until its newline arrives", async () => {
    await writeFile(file, "abc");
    const r = reader();
    expect(await r.drain()).toEqual([]);
    await appendFile(file, "def");
    expect(await r.drain()).toEqual([]);
    expect(r.committed?.offset).toBe(0);
    await appendFile(file, "\nnext");
    expect(await r.drain()).toEqual(["abcdef"]);
    expect(r.committed?.offset).toBe(7);
  });

  test("\\r\\n ends a line; a lone \\r stays", async () => {
    await writeFile(file, "a\r\nb\r\n\r\nc\rd\n");
    expect(await reader().drain()).toEqual(["a", "b", "", "c\rd"]);
  });

  test("invalid UTF-8 is replaced, never thrown; valid multibyte text survives", async () => {
    const bytes = [0x61, 0xff, 0x62, 0x0a, 0xe2, 0x82, 0x0a, ...Buffer.from("é €\n")];
    await writeFile(file, new Uint8Array(bytes));
    expect(await reader().drain()).toEqual(["a\uFFFDb", "\uFFFD", "é €"]);
  });

  test("a line longer than maxLineBytes is replaced by a marker no parser understands, and counted; the next line is intact", async () => {
    await writeFile(file, "x".repeat(25) + "\nshort\n" + "é".repeat(5) + "\n" + "é".repeat(4) + "\n");
    const r = reader({ maxLineBytes: 9 });
    // 5 é are 10 bytes: over; 4 are 8: kept whole.
    expect(await r.drain()).toEqual([overlongLine(9), "short", overlongLine(9), "é".repeat(4)]);
    expect(r.tailer.state().counts.truncatedLines).toBe(2);
  });

  test("a line longer than a read: found across reads, never held whole, then replaced by the marker", async () => {
    const long = Array.from({ length: 300 }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");
    await writeFile(file, "first\n" + long.slice(0, 100));
    const r = reader({ readChunkBytes: 32, maxLineBytes: 64 });
    expect(await r.drain()).toEqual(["first"]);
    await appendFile(file, long.slice(100) + "\r\nafter\n" + "y".repeat(64) + "\r\n");
    expect(await r.drain()).toEqual([overlongLine(64), "after", "y".repeat(64)]);
    expect(r.tailer.state().counts.truncatedLines).toBe(1);
  });

  test("chunks hold at most maxLines lines, each with the position after its last line", async () => {
    await writeFile(file, text(numbered(1, 10)));
    const r = reader({ maxLines: 4 });
    await r.drain();
    expect(r.chunks.map((c) => c.lines.length)).toEqual([4, 4, 2]);
    expect(r.chunks.map((c) => c.checkpoint.offset)).toEqual([28, 56, 71]);
  });
});

describe("missing and unreadable files", () => {
  test("missing: state says so, poll keeps returning null; once created, it is read from 0", async () => {
    const r = reader({ startAt: "end" });
    for (let i = 0; i < 3; i++) expect(await r.tailer.poll()).toBeNull();
    expect(r.tailer.state().status).toBe("missing");
    await writeFile(file, text(["a", "b"]));
    expect(await r.drain()).toEqual(["a", "b"]); // a file that appears later is new: all of it
    expect(r.tailer.state().status).toBe("idle");
  });

  test("a missing directory is missing too", async () => {
    const r = reader({ path: join(dir, "nope", "mail.log") });
    expect(await r.tailer.poll()).toBeNull();
    expect(r.tailer.state().status).toBe("missing");
  });

  test("a path that is not a file: state error, poll resolves null, recovers when fixed", async () => {
    await mkdir(file);
    const r = reader();
    expect(await r.tailer.poll()).toBeNull();
    expect(r.tailer.state()).toMatchObject({ status: "error", error: expect.stringContaining("not a regular file") });
    await rm(file, { recursive: true });
    await writeFile(file, "ok\n");
    expect(await r.drain()).toEqual(["ok"]);
    expect(r.tailer.state().error).toBeNull();
  });
});

describe("contract", () => {
  test("state reports the position, size and file", async () => {
    await writeFile(file, "a\nb");
    const r = reader();
    await r.drain();
    expect(r.tailer.state()).toMatchObject({ path: file, status: "idle", offset: 2, size: 3, draining: false });
    expect(r.tailer.state().ino).toBe(r.committed!.ino);
  });

  test("poll while a poll is in flight is refused; poll after close returns null", async () => {
    await writeFile(file, "a\n");
    const t = createTailer({ path: file, startAt: "beginning" });
    const first = t.poll();
    await expect(t.poll()).rejects.toThrow(/in flight/);
    expect((await first)?.lines).toEqual(["a"]);
    await t.close();
    expect(await t.poll()).toBeNull();
  });
});

describe("watchFile", () => {
  test("wakes on an append and on the timer; stop() ends both", async () => {
    await writeFile(file, "");
    let wakes = 0;
    const stop = watchFile(file, () => wakes++, { intervalMs: 60_000 });
    await Bun.sleep(20);
    await appendFile(file, "a\n");
    await eventually(() => wakes > 0, { timeoutMs: 2000, intervalMs: 5 });
    stop();
    const seen = wakes;
    await appendFile(file, "b\n");
    await Bun.sleep(50);
    expect(wakes).toBe(seen);

    let ticks = 0;
    const stopTimer = watchFile(join(dir, "absent", "x.log"), () => ticks++, { intervalMs: 5 });
    await eventually(() => ticks >= 2, { timeoutMs: 2000, intervalMs: 5 });
    stopTimer();
  });
});
