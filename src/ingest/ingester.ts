import type { Database } from "bun:sqlite";
import type { SourceConfig } from "../config/schema.ts";
import type { Event } from "../events/schema.ts";
import type { Logger } from "../lib/log.ts";
import { insertEventsTx } from "../store/events.ts";
import { loadCheckpoint, saveCheckpoint } from "../store/checkpoints.ts";
import { createLogParser, type Snapshot } from "./parse/index.ts";
import { createTailer, watchFile, type Chunk } from "./tailer.ts";

// One configured source: tail → parse → commit. Each chunk's events, the file position after
// it and the correlation state are written in ONE transaction, so after any crash the store
// holds events up to exactly the committed position: a line is neither lost nor read twice.

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
  /** After a commit that stored events. */
  onEvents: (events: readonly Event[], source: string) => void;
  onLines: (source: string, lines: number, notUnderstood: number) => void;
};

const IDLE_POLL_MS = 250;
const CHUNK_LINES = 10_000;
const CHUNK_BYTES = 2 * 1024 * 1024;
const RATE_WINDOW_MS = 60_000;

export function startSource(db: Database, source: SourceConfig, log: Logger, hooks: IngestHooks) {
  const slog = log.child({ component: "ingest", source: source.path });
  const saved = loadCheckpoint<Snapshot>(db, source.path);
  const newParser = (state: Snapshot | null | undefined) => createLogParser({ format: source.format, host: source.host, ...(state ? { state } : {}) });
  const newTailer = (checkpoint: Chunk["checkpoint"] | null) =>
    createTailer({
      path: source.path,
      startAt: source.start_at,
      checkpoint,
      rotateWaitMs: source.rotate_wait,
      // Each commit also rewrites the correlation snapshot (~100 KB with a busy queue): when
      // catching up, large chunks keep that cost per line small. A trickle still commits per line.
      maxLines: CHUNK_LINES,
      readChunkBytes: CHUNK_BYTES,
    });
  let parser = newParser(saved?.correlation);
  let tailer = newTailer(saved?.checkpoint ?? null);
  let failures = 0;

  /**
   * A commit that failed (the store busy past its timeout, disk full) rolled back, but the
   * tailer and parser had already moved past that chunk: start both again from what the
   * store holds, so the chunk is read again rather than lost.
   */
  async function restartFromStore(err: unknown) {
    failures++;
    const waitMs = Math.min(30_000, 500 * 2 ** Math.min(failures, 6));
    slog.error("could not store events read from the log; reading them again", { error: err instanceof Error ? err.message : String(err), retry_in_ms: waitMs });
    await tailer.close().catch(() => {});
    await Bun.sleep(waitMs);
    const again = loadCheckpoint<Snapshot>(db, source.path);
    parser = newParser(again?.correlation);
    tailer = newTailer(again?.checkpoint ?? null);
  }
  const commit = db.transaction((events: Event[], chunk: Chunk) => {
    const r = insertEventsTx(db, events, source.path);
    saveCheckpoint(db, source.path, chunk.checkpoint, parser.snapshot());
    return r;
  });

  const rate: { at: number; lines: number }[] = [];
  let stopping = false;
  let wake: (() => void) | null = null;
  const watcher = watchFile(source.path, () => wake?.());
  let lastStatus = "";
  let lost = 0;

  async function loop() {
    while (!stopping) {
      let chunk;
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
      if (!chunk) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, IDLE_POLL_MS);
        });
        wake = null;
        continue;
      }
      const before = parser.stats.notUnderstood;
      const events: Event[] = [];
      for (const line of chunk.lines) for (const e of parser.feed(line)) events.push(e);
      try {
        commit.immediate(events, chunk);
        failures = 0;
      } catch (err) {
        await restartFromStore(err);
        continue;
      }
      if (chunk.rotated) slog.info("followed log rotation", { offset: chunk.checkpoint.offset });
      if (chunk.truncated) slog.warn("log file was truncated; reading it from the start");
      const now = Date.now();
      rate.push({ at: now, lines: chunk.lines.length });
      while (rate.length && rate[0]!.at < now - RATE_WINDOW_MS) rate.shift();
      hooks.onLines(source.path, chunk.lines.length, parser.stats.notUnderstood - before);
      if (events.length) hooks.onEvents(events, source.path);
    }
  }

  const done = loop().catch((err) => slog.error("log source stopped by an unexpected error", { error: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
  slog.info("tailing", { format: source.format, start_at: source.start_at, resumed: saved !== null });

  return {
    path: source.path,
    async stop() {
      stopping = true;
      wake?.();
      await done;
      watcher();
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
        lines_read: parser.stats.lines,
        lines_not_understood: parser.stats.notUnderstood,
        recent_not_understood: parser.stats.recentNotUnderstood.slice(-5),
      };
    },
  };
}

export type SourceRunner = ReturnType<typeof startSource>;
