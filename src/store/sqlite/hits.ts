import { countHit } from "../minute-counts.ts";
import type { Database } from "bun:sqlite";
import type { HitCommit, HitRow, MinuteCounts } from "../contract/tracking.ts";
import { eventRows } from "../event-rows.ts";
import { TRACKING_SOURCE } from "../sources.ts";
import { insertRowsTx } from "./events.ts";
import { addMinuteCounts, claimFirst } from "./tracking.ts";

// The tracking writer's commit, one BEGIN IMMEDIATE: `first` claimed for every hit (before any
// insert, in order, so two hits of one batch are never both first), the events inserted one
// at a time through the store's own insert path (which of them were new decides the counts),
// and the minute counts for the admin page, all or nothing.
//
// Durability: the writer's connection runs synchronous=NORMAL (WAL): a commit is atomic and
// survives a process kill, and skips the fsync a power cut would need — an open or a click is
// answered with its pixel or redirect either way. A `durable` batch (it holds a one-click
// unsubscribe, whose 200 says "recorded") is committed with synchronous=FULL: that commit
// fsyncs the WAL, this batch's frames and every earlier one.

export function hitsUnit(
  db: Database,
  baseline: "full" | "normal",
): (hits: readonly HitRow[], opts: { durable: boolean; now: number }) => HitCommit {
  const write = db.transaction((hits: readonly HitRow[], now: number): HitCommit => {
    for (const h of hits) h.event.first = claimFirst(db, h.firstKey);
    const stored: Record<string, number> = {};
    const minutes = new Map<number, MinuteCounts>();
    let machine = 0;
    for (const h of hits) {
      const e = h.event;
      if (insertRowsTx(db, eventRows([e]), TRACKING_SOURCE, now).inserted === 0) continue;
      stored[e.type] = (stored[e.type] ?? 0) + 1;
      if (e.machine) machine++;
      countHit(minutes, h.minute, e);
    }
    for (const [minute, c] of minutes) addMinuteCounts(db, minute, c);
    return { stored, machine };
  });
  return (hits, { durable, now }) => {
    if (!durable || baseline === "full") return write.immediate(hits, now);
    db.run("PRAGMA synchronous = FULL");
    try {
      return write.immediate(hits, now);
    } finally {
      db.run("PRAGMA synchronous = NORMAL");
    }
  };
}
