// The tailer: a growing, rotating log file in, complete lines with exact byte positions out.
// It knows nothing of log formats. The caller commits each chunk's events together with the
// chunk's checkpoint in one transaction, so the store always holds a position that matches
// the events it holds; on restart, that committed checkpoint is the only position there is.
//
// Contract. poll() returns the lines after the position it returned last, and a checkpoint:
// the position after those lines, in the file they came from. Commit it, then poll again.
// poll() returns null when there is nothing to commit; wait for a wake (watchFile) then. A
// chunk may have no lines: its checkpoint still must be committed (a first start, a switch
// to a new file, a restart at 0 after truncation). The tailer holds no position beyond what
// it returned: a partial line is re-read, never buffered, so offsets always fall on a line start.
//
// Rules. A poll reads the file at the head of a small queue of open files (normally one):
// the last one follows the path, the ones before it are rotated files being finished.
// - Start. With no checkpoint (first run) the file is read from its beginning, or with
//   start_at "end" from after its last complete line. A file that appears later is new: it is
//   read from 0. With a checkpoint, a file at the path with the same device and inode, long
//   enough, starting with the fingerprinted bytes (file-identity.ts) is read from the
//   checkpoint's offset. Otherwise it rotated while we were down: the old file is looked for
//   in the same directory (the same device and inode, under any name, `<path>.1` first; else
//   a rotated name starting with the same bytes, the copy copytruncate leaves) and finished
//   from the offset; then any newer numbered rotation (`.2` before `.1`); then the file at the
//   path from 0. If the old file is gone (deleted, compressed) its lines after the offset are
//   lost: counts.checkpointsLost says so.
// - Truncation (copytruncate). Same inode but shorter than the offset, or no longer starting
//   with the fingerprinted bytes (truncated and regrown): the rest is read from the copy, if
//   one is found as above, then the file from 0. Lines written between the copy and the
//   truncation are in neither file: that loss is inherent in copytruncate. Size and
//   fingerprint are checked after each read, so a read that raced a truncation is discarded,
//   not emitted. Blind spot: at offset 0 there is no fingerprint yet, so a truncation before
//   anything was read from the file goes unseen (its lines then are lost, not doubled).
// - Rename rotation (logrotate create). At the end of the file the path is stat'ed; when it
//   names another inode, that file is opened and queued (after any numbered rotation newer
//   than ours, so two rotations between polls lose nothing), and the old descriptor is
//   drained: read to its end, and left only once it has stayed unchanged for rotateWaitMs (a
//   writer may append to it until it reopens; the wait only holds back the new file). Its
//   last line, even without "\n", is then emitted, and the next file is read from 0. The
//   stat comes before the last read of the old file, so nothing written before the rename is
//   missed.
// - File missing. The open descriptor keeps being read (a deleted file may still be written);
//   the state is "missing" until the path exists again, which then counts as a rotation.
//   Other errors make the state "error"; poll() resolves null and tries again next time.
// - Lines. A partial last line is not emitted before its "\n"; "\r\n" ends a line too; bytes
//   are decoded as UTF-8 with invalid sequences replaced; a line longer than maxLineBytes is
//   replaced by a marker no parser understands (counted as not understood, and in
//   counts.truncatedLines), its bytes skipped, never held whole. See line-reader.ts.

import { open, stat, type FileHandle } from "node:fs/promises";
import {
  EMPTY_FINGERPRINT,
  FINGERPRINT_MAX_BYTES,
  extendFingerprint,
  findRotated,
  fingerprintBytes,
  fingerprintFile,
  nameOfInode,
  openNewerRotations,
  type Checkpoint,
  type OpenFile,
} from "./file-identity.ts";
import { MAX_LINE_BYTES, readFinalLine, readLines } from "./line-reader.ts";

export type { Checkpoint } from "./file-identity.ts";
export { watchFile } from "./watch-file.ts";

export type StartAt = "end" | "beginning";

export type TailerOptions = {
  path: string;
  /** First run only (no checkpoint): where to start in a file that already exists. */
  startAt: StartAt;
  /** The last committed checkpoint, if any. */
  checkpoint?: Checkpoint | null;
  /** Bytes read at a time (256 KiB). */
  readChunkBytes?: number;
  /** At most this many lines per chunk (1000). */
  maxLines?: number;
  /** Longer lines are cut to this many bytes (64 KiB). */
  maxLineBytes?: number;
  /** How long a rotated file must stay unchanged before the new one is read (5 s). */
  rotateWaitMs?: number;
  now?: () => number;
};

export type Chunk = {
  lines: string[];
  /** The position after these lines, in the file they came from: commit it with them. */
  checkpoint: Checkpoint;
  file: { dev: number; ino: number };
  /** The first chunk from a file that replaced the previous one at the path. */
  rotated?: true;
  /** The first chunk after the file was truncated: its checkpoint is back near 0. */
  truncated?: true;
};

export type TailerStatus = "reading" | "idle" | "missing" | "error";

export type TailerState = {
  path: string;
  status: TailerStatus;
  /** Of the file being read: the position returned last, its size when last seen. */
  offset: number;
  size: number;
  dev: number | null;
  ino: number | null;
  /** A rotated file is being finished before the new one. */
  draining: boolean;
  error: string | null;
  counts: { rotations: number; truncations: number; truncatedLines: number; checkpointsLost: number };
};

export type Tailer = {
  /** Not concurrently: await it, commit its chunk, then call again. */
  poll(): Promise<Chunk | null>;
  state(): TailerState;
  close(): Promise<void>;
};

/** One open file in the queue: the head is being read, the last one follows the path. */
type Source = {
  fh: FileHandle;
  dev: number;
  ino: number;
  offset: number;
  fingerprint: string;
  size: number;
  /** While not the last: leave it once at its end and unchanged for this long. */
  waitMs: number;
  quietSince: number;
  /** Announced on its first chunk. */
  reason: "rotated" | "truncated" | null;
};

const DEFAULTS = { readChunkBytes: 256 * 1024, maxLines: 1000, maxLineBytes: MAX_LINE_BYTES, rotateWaitMs: 5000 };
const MAX_HOPS = 16;

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

export function createTailer(opts: TailerOptions): Tailer {
  const { path, startAt } = opts;
  const limits = {
    maxLines: Math.max(1, opts.maxLines ?? DEFAULTS.maxLines),
    maxLineBytes: Math.max(1, opts.maxLineBytes ?? DEFAULTS.maxLineBytes),
  };
  const rotateWaitMs = Math.max(0, opts.rotateWaitMs ?? DEFAULTS.rotateWaitMs);
  const now = opts.now ?? Date.now;
  const buf = new Uint8Array(Math.max(16, opts.readChunkBytes ?? DEFAULTS.readChunkBytes));
  const counts = { rotations: 0, truncations: 0, truncatedLines: 0, checkpointsLost: 0 };

  const queue: Source[] = [];
  let lastReturned: Checkpoint | null = opts.checkpoint ?? null;
  let started = false;
  let opened = opts.checkpoint != null; // startAt applies to the first file opened on a first run only
  let status: TailerStatus = "idle";
  let error: string | null = null;
  let closed = false;
  let inFlight: Promise<Chunk | null> | null = null;

  async function openSource(reason: Source["reason"]): Promise<Source | null> {
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (err) {
      if (!isMissing(err)) throw err;
      opened = true; // a file that appears later is new: read it whole
      return null;
    }
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw new Error(`${path}: not a regular file`);
    }
    const s: Source = {
      fh,
      dev: st.dev,
      ino: st.ino,
      offset: 0,
      fingerprint: EMPTY_FINGERPRINT,
      size: st.size,
      waitMs: 0,
      quietSince: now(),
      reason,
    };
    if (!opened && startAt === "end") {
      s.offset = await endOfLastLine(fh, st.size);
      s.fingerprint = (await fingerprintFile(fh, Math.min(s.offset, FINGERPRINT_MAX_BYTES))) ?? EMPTY_FINGERPRINT;
    }
    opened = true;
    return s;
  }

  async function endOfLastLine(fh: FileHandle, size: number): Promise<number> {
    const n = Math.min(size, buf.length);
    const { bytesRead } = await fh.read(buf, 0, n, size - n);
    const nl = buf.subarray(0, bytesRead).lastIndexOf(10);
    if (nl >= 0) return size - n + nl + 1;
    return n === size ? 0 : size;
  }

  async function pathIdentity(): Promise<{ dev: number; ino: number } | null> {
    try {
      const st = await stat(path);
      return { dev: st.dev, ino: st.ino };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  function sourceOf(f: OpenFile, at: Partial<Source> = {}): Source {
    const { fh, dev, ino, size } = f;
    return { fh, dev, ino, size, offset: 0, fingerprint: EMPTY_FINGERPRINT, waitMs: 0, quietSince: now(), reason: null, ...at };
  }

  /**
   * Queues the rotated files newer than `name` (logrotate numbering: .2 was rotated before
   * .1), so that two rotations between two polls, or while down, lose nothing. Returns them
   * to go right after the file at `name`; files already queued are skipped.
   */
  async function newerThan(name: string, queued: Array<{ dev: number; ino: number }>): Promise<Source[]> {
    const out: Source[] = [];
    for (const f of await openNewerRotations(path, name)) {
      if (queued.some((q) => q.dev === f.dev && q.ino === f.ino)) await f.fh.close().catch(() => {});
      else out.push(sourceOf(f, { waitMs: rotateWaitMs, reason: "rotated" }));
    }
    return out;
  }

  /** The first poll with a checkpoint: the files to read, starting with the one it belongs to. */
  async function resume(cp: Checkpoint): Promise<Source[]> {
    const live = await openSource(null);
    const same = live !== null && live.dev === cp.dev && live.ino === cp.ino;
    if (same && live.size >= cp.offset) {
      // a checkpoint without a fingerprint of ours (stored by hand, or older): device and inode decide
      const known = fingerprintBytes(cp.fingerprint) !== null;
      const fingerprint = known
        ? await extendFingerprint(live.fh, cp.fingerprint, 0)
        : await fingerprintFile(live.fh, Math.min(cp.offset, FINGERPRINT_MAX_BYTES));
      if (fingerprint !== null) return [{ ...live, offset: cp.offset, fingerprint }];
    }
    const files: Source[] = [];
    const old = await findRotated(path, cp);
    if (old) {
      const waitMs = old.how === "inode" ? rotateWaitMs : 0;
      files.push(sourceOf(old, { offset: cp.offset, fingerprint: cp.fingerprint, waitMs }));
      files.push(...(await newerThan(old.name, live ? [old, live] : [old])));
    } else if (cp.offset > 0) {
      counts.checkpointsLost++;
    }
    if (live) {
      if (same) counts.truncations++;
      else counts.rotations++;
      files.push({ ...live, reason: same ? "truncated" : "rotated" });
    }
    return files;
  }

  /** The head, which follows the path, no longer holds what was read: read it again from 0. */
  async function restartTruncated(head: Source): Promise<void> {
    counts.truncations++;
    const before = checkpointOf(head);
    Object.assign(head, { offset: 0, fingerprint: EMPTY_FINGERPRINT, reason: "truncated", quietSince: now() });
    if (before.offset === 0) return;
    const copy = await findRotated(path, before);
    if (!copy) return;
    const newer = await newerThan(copy.name, [copy, head]);
    queue.unshift(sourceOf(copy, { offset: before.offset, fingerprint: before.fingerprint }), ...newer);
  }

  async function finishHead(): Promise<void> {
    const head = queue.shift();
    await head?.fh.close().catch(() => {});
  }

  function checkpointOf(s: Source): Checkpoint {
    return { dev: s.dev, ino: s.ino, fingerprint: s.fingerprint, offset: s.offset };
  }

  function chunkOf(s: Source, lines: string[]): Chunk {
    const checkpoint = checkpointOf(s);
    const chunk: Chunk = { lines, checkpoint, file: { dev: s.dev, ino: s.ino } };
    if (s.reason) chunk[s.reason] = true;
    s.reason = null;
    lastReturned = checkpoint;
    return chunk;
  }

  /** Nothing new to read: a chunk only if the position itself has not been returned yet. */
  function unreturned(s: Source): Chunk | null {
    const cp = checkpointOf(s);
    const last = lastReturned;
    const same = last && last.dev === cp.dev && last.ino === cp.ino && last.offset === cp.offset && last.fingerprint === cp.fingerprint;
    return same ? null : chunkOf(s, []);
  }

  async function step(): Promise<Chunk | null> {
    if (!started) {
      if (opts.checkpoint) queue.push(...(await resume(opts.checkpoint))); // retried whole if it throws
      started = true;
    }
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      if (queue.length === 0) {
        const s = await openSource(null);
        if (!s) {
          status = "missing";
          return null;
        }
        queue.push(s);
      }
      const head = queue[0]!;
      const live = queue.length === 1;

      const read = await readLines(head.fh, head.offset, buf, limits);
      const st = await head.fh.stat();
      const changed = st.size !== head.size;
      head.size = st.size;
      const upTo = Math.min(read.end, FINGERPRINT_MAX_BYTES);
      const fingerprint = st.size >= read.end ? await extendFingerprint(head.fh, head.fingerprint, upTo) : null;
      if (fingerprint === null) {
        // not the bytes we read before: truncated (what was just read may be the new content)
        if (live) await restartTruncated(head);
        else await finishHead();
        continue;
      }
      if (read.lines.length > 0) {
        Object.assign(head, { offset: read.end, fingerprint, quietSince: now() });
        counts.truncatedLines += read.truncated;
        status = "reading";
        return chunkOf(head, read.lines);
      }

      if (live) {
        const at = await pathIdentity();
        if (at === null) {
          status = "missing";
          return unreturned(head);
        }
        if (at.dev !== head.dev || at.ino !== head.ino) {
          const next = await openSource("rotated");
          if (next && next.dev === head.dev && next.ino === head.ino) await next.fh.close();
          else if (next) {
            counts.rotations++;
            Object.assign(head, { waitMs: rotateWaitMs, quietSince: now() });
            const name = await nameOfInode(path, head.dev, head.ino);
            if (name) queue.push(...(await newerThan(name, [head, next])));
            queue.push(next);
            continue; // read the old file once more: the stat above came after the rename
          }
        }
        status = "idle";
        return unreturned(head);
      }

      // A rotated file at its end: leave it once it has stayed unchanged for waitMs.
      if (changed) head.quietSince = now();
      if (now() - head.quietSince < head.waitMs) {
        status = "idle";
        return unreturned(head);
      }
      const last = await readFinalLine(head.fh, head.offset, st.size, limits.maxLineBytes);
      if (last === "more") continue;
      if (last) {
        const fp = await extendFingerprint(head.fh, head.fingerprint, Math.min(st.size, FINGERPRINT_MAX_BYTES));
        Object.assign(head, { offset: st.size, fingerprint: fp ?? head.fingerprint });
        if (last.truncated) counts.truncatedLines++;
        status = "reading";
        return chunkOf(head, [last.text]);
      }
      await finishHead();
    }
    return null;
  }

  return {
    async poll() {
      if (inFlight) throw new Error("tailer: poll() called while a poll is in flight");
      if (closed) return null;
      inFlight = step().then(
        (chunk) => {
          error = null;
          return chunk;
        },
        (err: unknown) => {
          status = "error";
          error = err instanceof Error ? err.message : String(err);
          return null;
        },
      );
      try {
        return await inFlight;
      } finally {
        inFlight = null;
      }
    },
    state() {
      const head = queue[0];
      return {
        path,
        status,
        offset: head?.offset ?? 0,
        size: head?.size ?? 0,
        dev: head?.dev ?? null,
        ino: head?.ino ?? null,
        draining: queue.length > 1,
        error,
        counts: { ...counts },
      };
    },
    async close() {
      closed = true;
      await inFlight?.catch(() => null);
      for (const s of queue.splice(0)) await s.fh.close().catch(() => {});
    },
  };
}
