import type { Database } from "bun:sqlite";
import type { ReplayRow } from "../contract/delivery.ts";

/** Events of a time range (the events' own timestamps), in store order, one page at a time. */
export function eventsInRange(db: Database, since: number, until: number, afterSeq: number, limit: number): ReplayRow[] {
  return db
    .query(
      `SELECT seq, type, host, mail_from, rcpt_to, custom_type, notice, body FROM events
       WHERE ts >= ? AND ts < ? AND seq > ? ORDER BY seq LIMIT ?`,
    )
    .all(since, until, afterSeq, limit) as ReplayRow[];
}

export function countEventsInRange(db: Database, since: number, until: number): number {
  return (db.query("SELECT count(*) AS n FROM events WHERE ts >= ? AND ts < ?").get(since, until) as { n: number }).n;
}

/** Events in a webhook's replay batches not delivered yet (pending or dead): what replays add to the store. */
export function replayBacklog(db: Database, webhookId: string): number {
  return (
    db
      .query(
        "SELECT COALESCE(SUM(event_count), 0) AS n FROM batches WHERE webhook_id = ? AND kind = 'replay' AND state IN ('pending', 'dead')",
      )
      .get(webhookId) as { n: number }
  ).n;
}
