// Shared by the tailer tests: temp dirs, and a reader that "commits" like the ingester does.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTailer, type Checkpoint, type Chunk, type Tailer, type TailerOptions } from "../../src/ingest/tailer.ts";

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "hookd-tailer-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A tailer and what its caller committed: every line, in order, and the last checkpoint. */
export class Reader {
  tailer: Tailer;
  lines: string[] = [];
  chunks: Chunk[] = [];
  committed: Checkpoint | null;

  constructor(private opts: TailerOptions) {
    this.committed = opts.checkpoint ?? null;
    this.tailer = createTailer(opts);
  }

  /** One poll; a chunk is committed (lines and checkpoint together). */
  async pollOnce(): Promise<Chunk | null> {
    const chunk = await this.tailer.poll();
    if (chunk) {
      this.lines.push(...chunk.lines);
      this.chunks.push(chunk);
      this.committed = chunk.checkpoint;
    }
    return chunk;
  }

  /** Polls until nothing is left to commit; returns the lines committed meanwhile. */
  async drain(maxPolls = 100_000): Promise<string[]> {
    const from = this.lines.length;
    for (let i = 0; i < maxPolls; i++) if (!(await this.pollOnce())) return this.lines.slice(from);
    throw new Error(`drain: still returning chunks after ${maxPolls} polls`);
  }

  /** A restart: the tailer goes away, a new one starts from the committed checkpoint only. */
  async restart(overrides: Partial<TailerOptions> = {}): Promise<void> {
    await this.tailer.close();
    this.opts = { ...this.opts, ...overrides, checkpoint: this.committed };
    this.tailer = createTailer(this.opts);
  }
}

export const numbered = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}`);
export const text = (lines: string[]) => lines.map((l) => l + "\n").join("");

/** A clock the test moves. */
export function fakeClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}
