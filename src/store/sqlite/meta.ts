import type { Database } from "bun:sqlite";
import { statSync } from "node:fs";
import type { MetaStore, NodeInfo } from "../driver.ts";

// The store's own figures and the fleet's view, for a SQLite store: one node (this process),
// whose leases carry no node name. The nodes table exists (one schema for both drivers) but
// stays empty here.

export function metaStore(sqlite: Database, path: string): MetaStore {
  let self: NodeInfo | null = null;
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
    // One node, this process: its heartbeat is kept in memory, not written. A write every 5 s
    // would be one more writer on the main thread, and while another process holds the write
    // lock each one blocks the thread for busy_timeout: test/e2e/feedback/postfix-dsn's 451
    // never got out while the heartbeat kept the thread waiting.
    async heartbeat(n: NodeInfo) {
      self = { ...n, sources: [...n.sources] };
    },
    async nodes() {
      return self ? [self] : [];
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
