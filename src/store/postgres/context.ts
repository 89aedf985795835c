import type { SQL } from "bun";

// What every area of the PostgreSQL driver works with: the node's pool, its name (checkpoints
// and leases are per node), and whether its writes must be fsynced when they resolve.
export type PgContext = {
  readonly sql: SQL;
  /** This node's name in the fleet (storage.node, default the hostname). */
  readonly node: string;
  /** "normal": commits with synchronous_commit off (SQLite's NORMAL); "full": each commit flushed. */
  readonly durability: "full" | "normal";
};
