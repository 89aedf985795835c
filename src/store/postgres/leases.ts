import type { PgContext } from "./context.ts";
import { lightWrite } from "./batches-sql.ts";

// Leases at a node's start. Nothing of this node is in flight yet, so the leases it holds
// (lease_node) were left by its previous run and are void. Another node's leases are claims
// whose attempts may be running now: they stay until their holder records them or they expire.

export function releaseLeases(ctx: PgContext): Promise<number> {
  return lightWrite(ctx, async (sql) => {
    const r = await sql`UPDATE batches SET lease_token = NULL, lease_until = NULL, lease_node = NULL
      WHERE state = 'pending' AND lease_token IS NOT NULL AND lease_node = ${ctx.node}`;
    return r.count;
  });
}
