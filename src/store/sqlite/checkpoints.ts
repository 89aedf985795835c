import type { Database } from "bun:sqlite";
import type { Checkpoint as StoredCheckpoint } from "../contract/events.ts";

// A log source's committed position and correlation state. Written only inside the
// transaction that stores the events read up to that position. A SQLite store has one node,
// named '' here (migration 12): a host renamed later must not lose its place in its logs.

export function loadCheckpoint<S = unknown>(db: Database, source: string): { checkpoint: StoredCheckpoint; correlation: S | null } | null {
  const row = db
    .query("SELECT dev, ino, fingerprint, offset, correlation FROM source_checkpoints WHERE node = '' AND source = ?")
    .get(source) as {
    dev: number | null;
    ino: number | null;
    fingerprint: string | null;
    offset: number;
    correlation: string | null;
  } | null;
  if (!row) return null;
  let correlation: S | null = null;
  try {
    correlation = row.correlation ? (JSON.parse(row.correlation) as S) : null;
  } catch {
    correlation = null; // a damaged snapshot costs some correlation, never the position
  }
  return { checkpoint: { dev: row.dev ?? 0, ino: row.ino ?? 0, fingerprint: row.fingerprint ?? "", offset: row.offset }, correlation };
}

export function saveCheckpoint(db: Database, source: string, c: StoredCheckpoint, correlation: unknown, now = Date.now()): void {
  saveCheckpointJson(db, source, c, JSON.stringify(correlation), now);
}

/** The same, with the correlation state already serialised (by the thread that owns it). */
export function saveCheckpointJson(db: Database, source: string, c: StoredCheckpoint, correlationJson: string, now = Date.now()): void {
  db.query(
    `INSERT INTO source_checkpoints (node, source, dev, ino, fingerprint, offset, correlation, updated_at) VALUES ('', ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(node, source) DO UPDATE SET dev = excluded.dev, ino = excluded.ino, fingerprint = excluded.fingerprint,
       offset = excluded.offset, correlation = excluded.correlation, updated_at = excluded.updated_at`,
  ).run(source, c.dev, c.ino, c.fingerprint, c.offset, correlationJson, now);
}
