import { countHit } from "../minute-counts.ts";
import type { HitCommit, HitRow, MinuteCounts } from "../contract/tracking.ts";
import { eventRows } from "../event-rows.ts";
import { TRACKING_SOURCE } from "../sources.ts";
import type { PgContext } from "./context.ts";
import { insertEventRows, mustFlush, pgText, takeEventLock } from "./events-insert.ts";

// The tracking writer's commit on PostgreSQL, one transaction of four statements whatever the
// batch's size (SQLite's text: sqlite/hits.ts):
// 1. every hit's `first` key claimed in one INSERT … ON CONFLICT DO NOTHING RETURNING: a key
//    returned was claimed now, and only the batch's first hit with it is first. Keys go in
//    sorted order, so two nodes claiming overlapping keys queue on them instead of
//    deadlocking; a key another node is claiming waits for its commit (or rollback).
// 2. the event lock, then the events as every insert stores them (events-insert.ts);
// 3. the minutes of those stored, one upsert (in minute order; under the event lock, so two
//    commits never add to a minute at once).
// Claims come before the lock: a transaction holding the event lock never waits on a claim.
//
// Durability: fsynced when the batch is `durable` (a one-click unsubscribe, whose 200 says
// "recorded") or the connection is "full"; otherwise synchronous_commit off, atomic all the same.

const CLAIM = `INSERT INTO tracking_firsts (key)
  SELECT value FROM json_array_elements_text($1::text::json) ORDER BY value COLLATE "C"
  ON CONFLICT (key) DO NOTHING RETURNING key`;

const ADD_MINUTES = `INSERT INTO tracking_minutes (minute, opens, machine_opens, clicks, machine_clicks, unsubscribes)
  SELECT x.minute, x.opens, x.machine_opens, x.clicks, x.machine_clicks, x.unsubscribes
  FROM json_to_recordset($1::text::json)
    AS x(minute bigint, opens integer, machine_opens integer, clicks integer, machine_clicks integer, unsubscribes integer)
  ORDER BY x.minute
  ON CONFLICT (minute) DO UPDATE SET
    opens = tracking_minutes.opens + excluded.opens,
    machine_opens = tracking_minutes.machine_opens + excluded.machine_opens,
    clicks = tracking_minutes.clicks + excluded.clicks,
    machine_clicks = tracking_minutes.machine_clicks + excluded.machine_clicks,
    unsubscribes = tracking_minutes.unsubscribes + excluded.unsubscribes`;

export function hitsUnit(ctx: PgContext): (hits: readonly HitRow[], opts: { durable: boolean; now: number }) => Promise<HitCommit> {
  const { sql } = ctx;
  return async (hits, { durable, now }) => {
    if (hits.length === 0) return { stored: {}, machine: 0 };
    return sql.begin(async (tx): Promise<HitCommit> => {
      const keys = [...new Set(hits.map((h) => pgText(h.firstKey)))];
      const claimed = new Set(((await tx.unsafe(CLAIM, [JSON.stringify(keys)])) as { key: string }[]).map((r) => r.key));
      for (const h of hits) h.event.first = claimed.delete(pgText(h.firstKey));

      await takeEventLock(tx, mustFlush(ctx, durable));
      const stored = await insertEventRows(tx, eventRows(hits.map((h) => h.event)), TRACKING_SOURCE, now);
      // An id twice in the batch is stored once: its first hit's (the insert keeps the first).
      const storedIds = new Set(stored.map((r) => r.eventId));
      const counts: Record<string, number> = {};
      const minutes = new Map<number, MinuteCounts>();
      let machine = 0;
      for (const h of hits) {
        const e = h.event;
        if (!storedIds.delete(pgText(e.event_id))) continue;
        counts[e.type] = (counts[e.type] ?? 0) + 1;
        if (e.machine) machine++;
        countHit(minutes, h.minute, e);
      }
      if (minutes.size > 0) await tx.unsafe(ADD_MINUTES, [JSON.stringify([...minutes].map(([minute, c]) => ({ minute, ...c })))]);
      return { stored: counts, machine };
    });
  };
}
