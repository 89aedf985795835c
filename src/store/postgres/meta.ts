import type { MetaStore, NodeInfo } from "../driver.ts";
import type { PgContext } from "./context.ts";
import { int8, int8OrNull } from "./values.ts";

// The store's own figures and the fleet's rows on PostgreSQL: one row per node, written by its
// heartbeat; leases counted per node holding them.

export function metaStore(ctx: PgContext): MetaStore {
  const { sql } = ctx;
  return {
    async sizeBytes() {
      const [row] = await sql`SELECT pg_database_size(current_database()) AS size`;
      return int8((row as { size: unknown }).size, "pg_database_size");
    },
    async heartbeat(n: NodeInfo) {
      // Not worth an fsync: a lost heartbeat is written again in a few seconds.
      await sql.begin(async (tx) => {
        await tx`SET LOCAL synchronous_commit = off`;
        await tx`INSERT INTO nodes (name, started_at, last_seen_at, version, sources)
                 VALUES (${n.name}, ${n.startedAt}, ${n.lastSeenAt}, ${n.version}, ${JSON.stringify(n.sources)}::text::json)
                 ON CONFLICT (name) DO UPDATE SET started_at = excluded.started_at, last_seen_at = excluded.last_seen_at,
                   version = excluded.version, sources = excluded.sources`;
      });
    },
    async nodes() {
      const rows = (await sql`SELECT name, started_at, last_seen_at, version, sources FROM nodes ORDER BY name`) as {
        name: string;
        started_at: unknown;
        last_seen_at: unknown;
        version: string;
        sources: unknown;
      }[];
      return rows.map((r) => ({
        name: r.name,
        startedAt: int8(r.started_at, "nodes.started_at"),
        lastSeenAt: int8(r.last_seen_at, "nodes.last_seen_at"),
        version: r.version,
        sources: Array.isArray(r.sources) ? r.sources : [],
      }));
    },
    async inFlight(now: number) {
      const rows = (await sql`SELECT COALESCE(lease_node, '') AS node, count(*) AS n FROM batches
                              WHERE state = 'pending' AND lease_until > ${now} GROUP BY 1`) as { node: string; n: unknown }[];
      return new Map(rows.map((r) => [r.node, int8(r.n, "count")]));
    },
    async changeMark() {
      // Three index probes (events' and batches' identities, webhooks' few rows).
      const [row] = (await sql`SELECT (SELECT max(seq) FROM events) AS s, (SELECT max(ord) FROM batches) AS b,
                                      (SELECT max(updated_at) FROM webhooks) AS w, (SELECT count(*) FROM webhooks) AS n`) as {
        s: unknown;
        b: unknown;
        w: unknown;
        n: unknown;
      }[];
      const r = row!;
      return `${int8OrNull(r.s, "seq")}/${int8OrNull(r.b, "ord")}/${int8OrNull(r.w, "updated_at")}/${int8(r.n, "count")}`;
    },
  };
}
