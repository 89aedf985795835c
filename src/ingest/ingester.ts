import { untilAnswered } from "./until-answered.ts";
import type { SourceConfig } from "../config/schema.ts";
import type { Logger } from "../lib/log.ts";
import type { Store } from "../store/driver.ts";
import type { ChunkParser, ParsedChunk, ParserSetup } from "./chunk-parser.ts";
import type { ParserStats, Snapshot } from "./parse/index.ts";
import { createTailer, watchFile, type Chunk } from "./tailer.ts";

// One configured source: tail → parse → commit. Each chunk's events are committed as it is
// read; the file position and the correlation state after a chunk are committed with its
// events, in the same unit of work (IngestStore.commit), at most once a second (CHECKPOINT_EVERY_MS) and whenever the
// reader catches up or stops. After a crash the source resumes from the last position saved:
// lines after it are read again and give the same events (deterministic ids), which the store
// already holds and ignores. So no line is lost and no event is stored twice, and the
// correlation state — which grows with the mail queue — is written once a second, not once
// per chunk (rewriting a 1.3 MB state ten times a second was what slowed a long run down).
// The parser runs on another thread: while one chunk is committed the next is parsed
// (PIPELINE chunks read ahead at most; uncommitted ones are simply read again after a crash).
// The parser may hold a message's events back while a later line may still say it is a
// notice (correlate.ts); held events are part of the state saved with the position, and go
// out when that line comes, when the log's clock passes their grace, or when the source has
// been idle for HOLD_IDLE_MS: then they are committed with the state after them.

export type SourceStatusView = {
  path: string;
  format: string;
  status: string;
  offset: number;
  size: number;
  lag_bytes: number;
  lines_per_second: number;
  lines_read: number;
  lines_not_understood: number;
  recent_not_understood: string[];
};

export type IngestHooks = {
  /** After a commit that stored events: the type of each. */
  onEvents: (types: readonly string[], source: string) => void;
  onLines: (source: string, lines: number, notUnderstood: number) => void;
};

const IDLE_POLL_MS = 250;
const CHUNK_LINES = 5_000;
const CHUNK_BYTES = 1024 * 1024;
const RATE_WINDOW_MS = 60_000;
const PIPELINE = 2;
const CHECKPOINT_EVERY_MS = 1000;
// The bounce daemon's line naming a notice comes a moment after the notice's own lines (it is
// logged once cleanup has queued the notice): a log with nothing new for this long is not
// going to bring it, and a quiet log's clock does not move to end the grace.
const HOLD_IDLE_MS = 5000;
/** The longest wait between reads of the stored position while the store cannot be read. */
const RESTART_READ_MAX_MS = 5000;

export type ParserFactory = (setup: ParserSetup, state: Snapshot | null) => ChunkParser;

export type SourceOptions = { holdIdleMs?: number };

/** Messages whose events a stored state holds back (notice-hold.ts). */
function heldIn(state: Snapshot | null | undefined): number {
  const holds = state?.holds;
  return Array.isArray(holds) ? holds.length : 0;
}

export async function startSource(
  store: Store,
  source: SourceConfig,
  log: Logger,
  hooks: IngestHooks,
  makeParser: ParserFactory,
  opts: SourceOptions = {},
) {
  const holdIdleMs = opts.holdIdleMs ?? HOLD_IDLE_MS;
  const slog = log.child({ component: "ingest", source: source.path });
  const saved = await store.ingest.checkpoint<Snapshot>(source.path);
  const setup: ParserSetup = { format: source.format, ...(source.host ? { host: source.host } : {}) };
  const newTailer = (checkpoint: Chunk["checkpoint"] | null) =>
    createTailer({
      path: source.path,
      startAt: source.start_at,
      checkpoint,
      rotateWaitMs: source.rotate_wait,
      // The snapshot is saved once a second, not per chunk, so chunks can stay small: each is
      // garbage once committed, and 5,000 lines kept a backlog's RSS ~25 MB lower than 10,000
      // for the same throughput (measured). A trickle still commits per line.
      maxLines: CHUNK_LINES,
      readChunkBytes: CHUNK_BYTES,
    });
  const parser = makeParser(setup, saved?.correlation ?? null);
  let stats: ParserStats = { lines: 0, events: {}, ignored: 0, notUnderstood: 0, recentNotUnderstood: [] };
  let tailer = newTailer(saved?.checkpoint ?? null);
  let failures = 0;
  const inflight: { chunk: Chunk; parsed: Promise<ParsedChunk> }[] = [];
  // The position of the last committed chunk whose checkpoint is not saved yet.
  let unsaved: Chunk["checkpoint"] | null = null;
  let snapshotAskedAt = 0;
  // The position of the last committed chunk (or the stored one), and what the parser holds after it.
  let position: Chunk["checkpoint"] | null = saved?.checkpoint ?? null;
  let held = heldIn(saved?.correlation);
  let readAt = Date.now();

  /**
   * A commit that failed (the store busy past its timeout, disk full) rolled back, but the
   * tailer and parser had already moved past that chunk: start both again from what the
   * store holds, so the chunk is read again rather than lost.
   */
  async function restartFromStore(err: unknown) {
    failures++;
    const waitMs = Math.min(30_000, 500 * 2 ** Math.min(failures, 6));
    slog.error("could not store events read from the log; reading them again", {
      error: err instanceof Error ? err.message : String(err),
      retry_in_ms: waitMs,
    });
    inflight.length = 0;
    unsaved = null;
    snapshotAskedAt = 0;
    await tailer.close().catch(() => {});
    // The read of the position can fail too (a fleet's database still down): tried until the
    // store answers, or the source would stop for good with nothing said after.
    const again = await untilAnswered(() => store.ingest.checkpoint<Snapshot>(source.path), {
      firstMs: waitMs,
      maxMs: RESTART_READ_MAX_MS,
      stopping: () => stopping,
    });
    parser.reset(again?.correlation ?? null);
    tailer = newTailer(again?.checkpoint ?? null);
    position = again?.checkpoint ?? null;
    held = heldIn(again?.correlation);
    readAt = Date.now();
  }

  /** Commits a parsed chunk; its position stays to be saved when it came without the state. Resolves with the types stored. */
  async function commitChunk(parsed: ParsedChunk, checkpoint: Chunk["checkpoint"]): Promise<string[]> {
    const state = parsed.snapshot === null ? null : { checkpoint, correlation: parsed.snapshot };
    const stored = await store.ingest.commit(parsed.rows, source.path, state, Date.now());
    unsaved = parsed.snapshot === null ? checkpoint : null;
    position = checkpoint;
    held = parsed.held;
    return stored;
  }

  /** Saves the position of the last committed chunk, with the parser's state (nothing fed since). */
  async function saveUnsaved() {
    if (unsaved) await commitChunk(await parser.feed([], true), unsaved);
  }

  /** The source is idle: what the parser holds is committed, with the state after it, at the position read so far. */
  async function flushHeld(at: Chunk["checkpoint"]) {
    const parsed = await parser.flush();
    const stored = await commitChunk(parsed, at);
    stats = parsed.stats;
    if (stored.length) hooks.onEvents(stored, source.path);
  }

  const rate: { at: number; lines: number }[] = [];
  let stopping = false;
  let wake: (() => void) | null = null;
  const watcher = watchFile(source.path, () => wake?.());
  let lastStatus = "";
  let lost = 0;

  /** The next chunk from the tailer, or null; logs the file's state changes on the way. */
  async function poll(): Promise<Chunk | null> {
    let chunk: Chunk | null;
    try {
      chunk = await tailer.poll();
    } catch (err) {
      slog.error("tailer failed", { error: err instanceof Error ? err.message : String(err) });
      chunk = null;
    }
    const state = tailer.state();
    if (state.status !== lastStatus) {
      if (state.status === "missing") slog.warn("log file missing; waiting for it to appear");
      else if (state.status === "error") slog.error("cannot read the log file; retrying", { error: state.error });
      else if (lastStatus === "missing" || lastStatus === "error") slog.info("reading the log file again");
      lastStatus = state.status;
    }
    if (state.counts.checkpointsLost > lost) {
      lost = state.counts.checkpointsLost;
      slog.warn("the file rotated while hookd was stopped and the old one is gone: its unread lines are lost", { lost_files: lost });
    }
    return chunk;
  }

  async function loop() {
    while (!stopping) {
      // Read ahead while the parser has room, so it parses the next chunk during this commit.
      if (inflight.length < PIPELINE) {
        const chunk = await poll();
        if (chunk) {
          readAt = Date.now();
          const snapshot = Date.now() - snapshotAskedAt >= CHECKPOINT_EVERY_MS;
          if (snapshot) snapshotAskedAt = Date.now();
          const parsed = parser.feed(chunk.lines, snapshot);
          // Awaited in order below, where a failure is handled; until then (or when a restart
          // drops it with the rest) its rejection is not an unhandled one.
          parsed.catch(() => {});
          inflight.push({ chunk, parsed });
          if (inflight.length < PIPELINE) continue;
        }
      }
      const head = inflight.shift();
      if (!head && unsaved) {
        // Caught up: the position read so far is saved before waiting for more.
        try {
          await saveUnsaved();
        } catch (err) {
          await restartFromStore(err);
        }
        continue;
      }
      if (!head && held > 0 && position && Date.now() - readAt >= holdIdleMs) {
        try {
          await flushHeld(position);
        } catch (err) {
          await restartFromStore(err);
        }
        continue;
      }
      if (!head) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, IDLE_POLL_MS);
        });
        wake = null;
        continue;
      }
      const { chunk } = head;
      let parsed: ParsedChunk;
      let stored: string[];
      try {
        parsed = await head.parsed;
        stored = await commitChunk(parsed, chunk.checkpoint);
        failures = 0;
      } catch (err) {
        await restartFromStore(err);
        continue;
      }
      stats = parsed.stats;
      if (chunk.rotated) slog.info("followed log rotation", { offset: chunk.checkpoint.offset });
      if (chunk.truncated) slog.warn("log file was truncated; reading it from the start");
      const now = Date.now();
      rate.push({ at: now, lines: chunk.lines.length });
      while (rate.length && rate[0]!.at < now - RATE_WINDOW_MS) rate.shift();
      hooks.onLines(source.path, chunk.lines.length, parsed.notUnderstood);
      if (stored.length) hooks.onEvents(stored, source.path);
    }
  }

  const done = loop()
    .then(async () => {
      // Stopping: the chunks already read are committed and the position after them saved.
      // (The parser's state is past every chunk fed, so it matches only once all are in.)
      try {
        for (let head = inflight.shift(); head; head = inflight.shift()) await commitChunk(await head.parsed, head.chunk.checkpoint);
        await saveUnsaved();
      } catch (err) {
        slog.warn("could not save the read position at stop; the last lines will be read again", {
          error: err instanceof Error ? err.message : String(err),
        });
      }
    })
    .catch((err) =>
      slog.error("log source stopped by an unexpected error", { error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  slog.info("tailing", { format: source.format, start_at: source.start_at, resumed: saved !== null });

  return {
    path: source.path,
    async stop() {
      stopping = true;
      wake?.();
      await done;
      watcher();
      parser.close();
      await tailer.close();
    },
    status(): SourceStatusView {
      const s = tailer.state();
      const lines = rate.reduce((n, r) => n + r.lines, 0);
      const span = rate.length ? Math.max(1, (Date.now() - Math.min(rate[0]!.at, Date.now() - 1000)) / 1000) : 1;
      return {
        path: source.path,
        format: source.format,
        status: s.status,
        offset: s.offset,
        size: s.size,
        lag_bytes: Math.max(0, s.size - s.offset),
        lines_per_second: Math.round((lines / span) * 10) / 10,
        lines_read: stats.lines,
        lines_not_understood: stats.notUnderstood,
        recent_not_understood: stats.recentNotUnderstood.slice(-5),
      };
    },
  };
}

export type SourceRunner = Awaited<ReturnType<typeof startSource>>;
