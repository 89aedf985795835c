// What a fleet of nodes on one database needs (src/store/migrations/0012-fleet.ts is SQLite's
// text of the same version):
// - source_checkpoints per (node, source): each node tails its own logs, and two nodes may
//   well tail files at the same path. No default for node: a writer that forgets it fails.
// - nodes: one row per node, written at start and by its heartbeat, for the fleet's status.
// - batches.lease_node: who holds a lease, so a node that starts again releases its own
//   leases only (another node's are live claims).
// - batches.ord: a webhook's batches in the order they were cut, whichever node cut them.
//   Not created_at: it comes from the cutting node's clock, and clocks differ. The head index
//   orders by it instead of (created_at, id).
export const sql = /* sql */ `
ALTER TABLE source_checkpoints ADD COLUMN node text NOT NULL DEFAULT '';
ALTER TABLE source_checkpoints ALTER COLUMN node DROP DEFAULT;
ALTER TABLE source_checkpoints DROP CONSTRAINT source_checkpoints_pkey, ADD PRIMARY KEY (node, source);

CREATE TABLE nodes (
  name text PRIMARY KEY,
  started_at bigint NOT NULL,
  last_seen_at bigint NOT NULL,
  version text NOT NULL,
  sources json NOT NULL DEFAULT '[]' CHECK (json_typeof(sources) = 'array')
);

ALTER TABLE batches ADD COLUMN lease_node text;
ALTER TABLE batches ADD COLUMN ord bigint GENERATED ALWAYS AS IDENTITY;
DROP INDEX batches_webhook_pending;
CREATE INDEX batches_webhook_pending ON batches (webhook_id, state, ord);
`;
