import type { EventStore, FeedbackStore, IngestStore } from "../driver.ts";
import { FEEDBACK_SOURCE } from "../sources.ts";
import type { PgContext } from "./context.ts";
import { insertCustomTypes, insertEventRows, insertEventRowsAt, mustFlush, takeEventLock } from "./events-insert.ts";
import { eventsAfter, eventsPerMinute, loadCheckpoint, maxEventSeq, searchEvents, seenCustomTypes } from "./events-read.ts";
import { messageLookup } from "./message-lookup.ts";

// Events in (POST /events, ingest, feedback) and out, on PostgreSQL: each write one
// transaction that takes the event lock before its insert (events-insert.ts), each read one
// statement.

export function eventStore(ctx: PgContext): EventStore {
  const { sql } = ctx;
  return {
    // Durable when it resolves, whatever the connection's durability (the contract's promise).
    insert: (rows, customTypes, source, now) =>
      sql.begin(async (tx) => {
        await takeEventLock(tx, true);
        const stored = await insertEventRows(tx, rows, source, now);
        await insertCustomTypes(tx, customTypes, now);
        return { inserted: stored.length, duplicates: rows.bodies.length - stored.length };
      }),
    search: (q) => searchEvents(sql, q),
    maxSeq: () => maxEventSeq(sql),
    after: (seq, limit) => eventsAfter(sql, seq, limit),
    perMinute: (now, minutes) => eventsPerMinute(sql, now, minutes),
    customTypes: () => seenCustomTypes(sql),
  };
}

export function ingestStore(ctx: PgContext): IngestStore {
  const { sql, node } = ctx;
  const flush = mustFlush(ctx, false);
  return {
    commit: (rows, source, position, now) =>
      sql.begin(async (tx) => {
        if (rows.bodies.length > 0) await takeEventLock(tx, flush);
        else if (!flush) await tx`SET LOCAL synchronous_commit = off`;
        // Checkpoints are this node's: another node may tail a file at the same path.
        const stored = position
          ? await insertEventRowsAt(tx, rows, source, now, node, { ...position.checkpoint, correlation: position.correlation })
          : await insertEventRows(tx, rows, source, now);
        return stored.map((r) => r.type);
      }),
    checkpoint: (source) => loadCheckpoint(sql, node, source),
  };
}

export function feedbackStore(ctx: PgContext): FeedbackStore {
  const { sql } = ctx;
  return {
    // Durable when it resolves: "250" and "exit 0" mean stored.
    commit: (groups, now) =>
      sql.begin(async (tx) => {
        if (groups.every((g) => g.bodies.length === 0)) return groups.map(() => []);
        await takeEventLock(tx, true);
        const types: string[][] = [];
        for (const rows of groups) types.push((await insertEventRows(tx, rows, FEEDBACK_SOURCE, now)).map((r) => r.type));
        return types;
      }),
    ...messageLookup(sql),
  };
}
