import type { Database } from "bun:sqlite";
import type { Event } from "../events/schema.ts";
import { insertEventsTx } from "../store/events.ts";
import { addMinuteCounts, claimFirst, trackedMessageData, type MinuteCounts } from "../store/tracking.ts";
import { eventsForHits, type CampaignRow, type EngagementEvent, type Hit } from "./events.ts";

// One batch of hits → one BEGIN IMMEDIATE transaction: `first` claimed, the tracked message's
// campaign row read, the events inserted through the store's own insert path (the same rows
// POST /events writes, source "tracking"; ON CONFLICT(event_id) DO NOTHING), and the minute
// counts for the admin page, all or nothing.
//
// Durability: the connection runs synchronous=NORMAL (WAL): a commit is atomic and survives a
// process kill, and skips the fsync a power cut would need — an open or a click is answered
// with its pixel or redirect either way. A batch holding a one-click unsubscribe, whose 200
// says "recorded", is committed with synchronous=FULL: that commit fsyncs the WAL, this
// batch's frames and every earlier one.

export const EVENT_SOURCE = "tracking";

export type CommitResult = {
  /** Events stored by type (duplicates — a same-second re-fetch, a repeated one-click — left out). */
  stored: Record<string, number>;
  /** Of those, marked machine. */
  machine: number;
  /** Whether this commit was fsynced (it held a one-click unsubscribe). */
  durable: boolean;
};

export function createHitCommitter(db: Database, opts: { host: string }): (hits: readonly Hit[]) => CommitResult {
  const deps = {
    host: opts.host,
    claimFirst: (key: string) => claimFirst(db, key),
    campaign: (ref: number) => campaignRow(db, ref),
  };
  const write = db.transaction((hits: readonly Hit[]): CommitResult => {
    const events = eventsForHits(hits, deps);
    const stored: Record<string, number> = {};
    const minutes = new Map<number, MinuteCounts>();
    let machine = 0;
    const now = Date.now();
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      // One row at a time: which of them were new decides the counts.
      if (insertEventsTx(db, [e as Event], EVENT_SOURCE, now).inserted === 0) continue;
      stored[e.type] = (stored[e.type] ?? 0) + 1;
      if (e.machine) machine++;
      count(minutes, Math.floor(hits[i]!.at / 60_000), e);
    }
    for (const [minute, c] of minutes) addMinuteCounts(db, minute, c);
    return { stored, machine, durable: false };
  });
  return (hits) => {
    const durable = hits.some((h) => h.payload.kind === "unsubscribe");
    if (!durable) return write.immediate(hits);
    db.run("PRAGMA synchronous = FULL");
    try {
      return { ...write.immediate(hits), durable };
    } finally {
      db.run("PRAGMA synchronous = NORMAL");
    }
  };
}

function count(minutes: Map<number, MinuteCounts>, minute: number, e: EngagementEvent): void {
  let c = minutes.get(minute);
  if (!c) minutes.set(minute, (c = { opens: 0, machine_opens: 0, clicks: 0, machine_clicks: 0, unsubscribes: 0 }));
  if (e.type === "open") {
    c.opens++;
    if (e.machine) c.machine_opens++;
  } else if (e.type === "click") {
    c.clicks++;
    if (e.machine) c.machine_clicks++;
  } else c.unsubscribes++;
}

// Written by the rewrite (message.ts) from validated input; read back defensively all the same.
function campaignRow(db: Database, ref: number): CampaignRow | undefined {
  const data = trackedMessageData(db, ref);
  if (data === null) return undefined;
  try {
    const row = JSON.parse(data) as unknown;
    return row && typeof row === "object" && !Array.isArray(row) ? (row as CampaignRow) : undefined;
  } catch {
    return undefined;
  }
}
