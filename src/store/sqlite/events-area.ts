import type { Database } from "bun:sqlite";
import type { EventStore, IngestStore } from "../contract/events.ts";
import type { FeedbackStore } from "../contract/feedback.ts";
import type { EventRows } from "../event-rows.ts";
import { FEEDBACK_SOURCE } from "../sources.ts";
import { loadCheckpoint, saveCheckpointJson } from "./checkpoints.ts";
import { eventsAfter, eventsPerMinute, insertRows, insertRowsTx, maxEventSeq, searchEvents, seenCustomTypes } from "./events.ts";
import {
  activateMessageLookup,
  findMessagesByMessageId,
  findMessagesByQueueId,
  indexMessageLookup,
  messageLookupState,
  pruneMessageLookup,
} from "./message-lookup.ts";

// Events in (POST /events, ingest, feedback) and out, on SQLite: each method runs the
// synchronous functions of events.ts, checkpoints.ts and message-lookup.ts, a whole
// transaction at a time, so nothing else on the thread runs in the middle of one.

export function eventStore(db: Database): EventStore {
  return {
    insert: async (rows, customTypes, source, now) => insertRows(db, rows, customTypes, source, now),
    search: async (q) => searchEvents(db, q),
    maxSeq: async () => maxEventSeq(db),
    after: async (seq, limit) => eventsAfter(db, seq, limit),
    perMinute: async (now, minutes) => eventsPerMinute(db, now, minutes),
    customTypes: async () => seenCustomTypes(db),
  };
}

export function ingestStore(db: Database): IngestStore {
  // Prepared once per connection: the ingest worker commits every chunk through it.
  const commit = db.transaction(
    (rows: EventRows, source: string, position: Parameters<IngestStore["commit"]>[2], now: number): string[] => {
      const r = insertRowsTx(db, rows, source, now);
      if (position) saveCheckpointJson(db, source, position.checkpoint, position.correlation, now);
      return r.types;
    },
  );
  return {
    commit: async (rows, source, position, now) => commit.immediate(rows, source, position, now),
    checkpoint: async (source) => loadCheckpoint(db, source),
  };
}

export function feedbackStore(db: Database): FeedbackStore {
  const commit = db.transaction((groups: readonly EventRows[], now: number) =>
    groups.map((rows) => insertRowsTx(db, rows, FEEDBACK_SOURCE, now).types),
  );
  return {
    commit: async (groups, now) => commit.immediate(groups, now),
    activateIndex: async (waitMs) => activateMessageLookup(db, waitMs),
    indexState: async () => messageLookupState(db),
    indexStep: async (maxEvents, waitMs) => indexMessageLookup(db, maxEvents, waitMs),
    pruneIndex: async (maxRows, waitMs) => pruneMessageLookup(db, maxRows, waitMs),
    findByMessageId: async (messageId, limit) => findMessagesByMessageId(db, messageId, limit),
    findByQueueId: async (queueId, limit) => findMessagesByQueueId(db, queueId, limit),
  };
}
