import type { Database } from "bun:sqlite";
import { statSync } from "node:fs";
import type { MetaStore, NodeInfo } from "../driver.ts";

// The store's own figures and the fleet's rows, for a SQLite store: one node (this process),
// whose leases carry no node name.

export function metaStore(sqlite: Database, path: string): MetaStore {
  return {
    async sizeBytes() {
      let size = 0;
      for (const suffix of ["", "-wal"]) {
        try {
          size += statSync(path + suffix).size;
        } catch {
          // no WAL file right now
        }
      }
      return size;
    },
    async heartbeat(n: NodeInfo) {
      sqlite
        .query(
          `INSERT INTO nodes (name, started_at, last_seen_at, version, sources) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(name) DO UPDATE SET started_at = excluded.started_at, last_seen_at = excluded.last_seen_at,
             version = excluded.version, sources = excluded.sources`,
        )
        .run(n.name, n.startedAt, n.lastSeenAt, n.version, JSON.stringify(n.sources));
    },
    async nodes() {
      const rows = sqlite.query("SELECT name, started_at, last_seen_at, version, sources FROM nodes ORDER BY name").all() as {
        name: string;
        started_at: number;
        last_seen_at: number;
        version: string;
        sources: string;
      }[];
      return rows.map((r) => ({
        name: r.name,
        startedAt: r.started_at,
        lastSeenAt: r.last_seen_at,
        version: r.version,
        sources: parseList(r.sources),
      }));
    },
    async inFlight(now: number) {
      const rows = sqlite
        .query("SELECT COALESCE(lease_node, '') AS node, count(*) AS n FROM batches WHERE state = 'pending' AND lease_until > ? GROUP BY 1")
        .all(now) as { node: string; n: number }[];
      return new Map(rows.map((r) => [r.node, r.n]));
    },
    async changeMark() {
      // PRAGMA data_version changes when another connection commits to the file.
      const row = sqlite.query("PRAGMA data_version").get() as { data_version: number };
      return String(row.data_version);
    },
  };
}

function parseList(text: string): unknown[] {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}
