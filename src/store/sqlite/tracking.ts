import type { Database, Statement } from "bun:sqlite";
import type { KeyringRow, MinuteCounts } from "../contract/tracking.ts";

// The SQL of tracking: the keyring row, tracked messages (campaign data), first-claims and the
// per-minute counts. Plain text in and out — the keyring's shape and the campaign data's are
// track/'s to check. Hot statements are prepared once per connection, as in events.ts.

type Prepared = {
  version: Statement;
  message: Statement;
  claim: Statement;
  addMinute: Statement;
};
const prepared = new WeakMap<Database, Prepared>();

function statements(db: Database): Prepared {
  let p = prepared.get(db);
  if (!p) {
    p = {
      version: db.prepare("SELECT version FROM tracking_keyring WHERE id = 1"),
      message: db.prepare("SELECT data FROM tracked_messages WHERE id = ?"),
      claim: db.prepare("INSERT OR IGNORE INTO tracking_firsts (key) VALUES (?)"),
      addMinute: db.prepare(
        `INSERT INTO tracking_minutes (minute, opens, machine_opens, clicks, machine_clicks, unsubscribes) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(minute) DO UPDATE SET opens = opens + excluded.opens, machine_opens = machine_opens + excluded.machine_opens,
           clicks = clicks + excluded.clicks, machine_clicks = machine_clicks + excluded.machine_clicks,
           unsubscribes = unsubscribes + excluded.unsubscribes`,
      ),
    };
    prepared.set(db, p);
  }
  return p;
}

export function keyringRow(db: Database): KeyringRow | null {
  return (db.query("SELECT ring, version FROM tracking_keyring WHERE id = 1").get() as KeyringRow | null) ?? null;
}

/** The stored ring's version (grows with every write), or 0 when there is none: one point read. */
export function keyringVersion(db: Database): number {
  return (statements(db).version.get() as { version: number } | null)?.version ?? 0;
}

/** Writes the ring (inside the caller's transaction, which read the version it replaces); returns the new version. */
export function putKeyringRow(db: Database, ring: string, now: number): number {
  const row = db
    .query(
      `INSERT INTO tracking_keyring (id, ring, version, updated_at) VALUES (1, ?, 1, ?)
       ON CONFLICT(id) DO UPDATE SET ring = excluded.ring, version = version + 1, updated_at = excluded.updated_at
       RETURNING version`,
    )
    .get(ring, now) as { version: number };
  return row.version;
}

/** Stores a tracked message's data (JSON); its id is the `ref` its tokens carry. */
export function insertTrackedMessage(db: Database, data: string, now: number): number {
  const row = db.query("INSERT INTO tracked_messages (created_at, data) VALUES (?, ?) RETURNING id").get(now, data) as { id: number };
  return row.id;
}

export function trackedMessageData(db: Database, id: number): string | null {
  return (statements(db).message.get(id) as { data: string } | null)?.data ?? null;
}

/** True the first time `key` is claimed; run it in the transaction that stores the event. */
export function claimFirst(db: Database, key: string): boolean {
  return statements(db).claim.run(key).changes === 1;
}

/** Adds recorded hits to their minute (unix minutes), inside the caller's transaction. */
export function addMinuteCounts(db: Database, minute: number, c: MinuteCounts): void {
  statements(db).addMinute.run(minute, c.opens, c.machine_opens, c.clicks, c.machine_clicks, c.unsubscribes);
}

/** The minutes in [from, to) that have counts, oldest first. */
export function minuteCounts(db: Database, from: number, to: number): (MinuteCounts & { minute: number })[] {
  return db
    .query(
      "SELECT minute, opens, machine_opens, clicks, machine_clicks, unsubscribes FROM tracking_minutes WHERE minute >= ? AND minute < ? ORDER BY minute",
    )
    .all(from, to) as (MinuteCounts & { minute: number })[];
}

/** Drops the counts of minutes before `minute`; returns how many rows went. */
export function pruneMinutes(db: Database, minute: number): number {
  return db.query("DELETE FROM tracking_minutes WHERE minute < ?").run(minute).changes;
}
