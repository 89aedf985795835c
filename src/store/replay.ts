import type { Database } from "bun:sqlite";

export type ReplayRow = { seq: number; type: string; host: string; mail_from: string | null; rcpt_to: string | null; notice: string | null; body: string };

/** Events of a time range (the events' own timestamps), in store order, one page at a time. */
export function eventsInRange(db: Database, since: number, until: number, afterSeq: number, limit: number): ReplayRow[] {
  return db
    .query(
      `SELECT seq, type, host, mail_from, rcpt_to, notice, body FROM events
       WHERE ts >= ? AND ts < ? AND seq > ? ORDER BY seq LIMIT ?`,
    )
    .all(since, until, afterSeq, limit) as ReplayRow[];
}

export function countEventsInRange(db: Database, since: number, until: number): number {
  return (db.query("SELECT count(*) AS n FROM events WHERE ts >= ? AND ts < ?").get(since, until) as { n: number }).n;
}
