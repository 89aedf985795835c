import type { Event } from "../../events/schema.ts";
import type { EventRows } from "../event-rows.ts";

// Events in and out: POST /events, backfill, searches, the live tail, and the ingest
// commit. Every driver gives `seq` in commit order: a reader that follows seq (the batcher,
// the live tail, retention's bound) never skips a row committed after it looked.

export type InsertResult = { inserted: number; duplicates: number };

export type EventQuery = {
  types?: string[] | undefined;
  rcpt_to?: string | undefined;
  message_id?: string | undefined;
  queue_id?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  cursor?: { ts: number; seq: number } | undefined;
  limit: number;
};

export type EventPage = { events: Event[]; next: { ts: number; seq: number } | null };

export type StoredEvent = { seq: number; body: string };

export interface EventStore {
  /**
   * POST /events, backfill: the rows and the custom event names they carry, in one write
   * transaction, all or none. Ids already stored are skipped (`duplicates`), never an error.
   * Durable when it resolves (SQLite: synchronous=FULL).
   */
  insert(rows: EventRows, customTypes: Iterable<string>, source: string, now: number): Promise<InsertResult>;
  /** Newest first (ts, then seq). The cursor is the (ts, seq) of the last row returned, so pages never overlap. */
  search(q: EventQuery): Promise<EventPage>;
  /** The newest event's seq (0: none): a new webhook starts after it. */
  maxSeq(): Promise<number>;
  /** Events stored after `seq`, oldest first: the live tail's feed. */
  after(seq: number, limit: number): Promise<StoredEvent[]>;
  /** Events stored per minute (by arrival) over the last `minutes` minutes, oldest first. */
  perMinute(now: number, minutes: number): Promise<number[]>;
  /** Custom event names seen in stored events, first seen first. */
  customTypes(): Promise<string[]>;
}

/** Where a log source's reader stands: the file (dev, inode, fingerprint of its start) and the byte after the last line committed. */
export type Checkpoint = { dev: number; ino: number; fingerprint: string; offset: number };

export type SavedCheckpoint<S> = { checkpoint: Checkpoint; correlation: S | null };

export interface IngestStore {
  /**
   * The ingest commit: a chunk's rows and, when given, the source's position and correlation
   * state (JSON, serialised by the parse thread) after it, in one write transaction, so a
   * restart resumes exactly after what was stored. Resolves with the type of each row actually
   * stored (lines read again after a restart give ids already stored: not counted twice).
   * Atomic; not fsynced on a connection opened with durability "normal" (the log still holds
   * the lines: a power cut loses only what is read again).
   */
  commit(rows: EventRows, source: string, position: { checkpoint: Checkpoint; correlation: string } | null, now: number): Promise<string[]>;
  /** The source's saved position and correlation state (null when the state is damaged: the position still counts). */
  checkpoint<S = unknown>(source: string): Promise<SavedCheckpoint<S> | null>;
}
