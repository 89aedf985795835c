// What a fleet needs, in SQLite's text (src/store/postgres/migrations/0012-fleet.ts is the
// same version for PostgreSQL; both drivers keep one logical schema). A single SQLite node
// barely uses it, but its tables look the same to the code above the store:
// - source_checkpoints keyed by (node, source): SQLite cannot change a primary key in place,
//   so the table is rebuilt. The positions stored so far move to node '' — the one node of a
//   SQLite store; the SQLite driver keeps using '' (a renamed host must not lose its place).
// - nodes: the fleet's status rows (one, here).
// - batches.lease_node: who holds a lease.
// - batches.ord: the order batches were cut in. SQLite cannot add a column that fills itself,
//   so a trigger gives each new batch MAX(ord) + 1 (batches_ord makes that one index probe),
//   and the batches stored so far are numbered in rowid order, which is their insert order.
//   Not the rowid itself: VACUUM may renumber rowids, and then a new batch could sort before
//   an old one. batches_webhook_pending (created_at, id) stays until the driver orders by ord.
export const sql = /* sql */ `
CREATE TABLE source_checkpoints_fleet (
  node TEXT NOT NULL,
  source TEXT NOT NULL,
  dev INTEGER,
  ino INTEGER,
  fingerprint TEXT,
  offset INTEGER NOT NULL,
  correlation TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (node, source)
);
INSERT INTO source_checkpoints_fleet (node, source, dev, ino, fingerprint, offset, correlation, updated_at)
  SELECT '', source, dev, ino, fingerprint, offset, correlation, updated_at FROM source_checkpoints;
DROP TABLE source_checkpoints;
ALTER TABLE source_checkpoints_fleet RENAME TO source_checkpoints;

CREATE TABLE nodes (
  name TEXT PRIMARY KEY,
  started_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  version TEXT NOT NULL,
  sources TEXT NOT NULL DEFAULT '[]'    -- JSON array of the node's [[sources]] paths
);

ALTER TABLE batches ADD COLUMN lease_node TEXT;
ALTER TABLE batches ADD COLUMN ord INTEGER;
UPDATE batches SET ord = rowid;
CREATE INDEX batches_ord ON batches(ord);
CREATE INDEX batches_webhook_state_ord ON batches(webhook_id, state, ord);
CREATE TRIGGER batches_assign_ord AFTER INSERT ON batches WHEN NEW.ord IS NULL BEGIN
  UPDATE batches SET ord = (SELECT COALESCE(MAX(ord), 0) + 1 FROM batches) WHERE rowid = NEW.rowid;
END;
`;
