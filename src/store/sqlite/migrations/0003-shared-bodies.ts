// Webhooks with the same subscription get byte-identical batches; the body is stored once and
// shared (refs counts the batches using it). Batches from before keep their own `body`.
export const sql = /* sql */ `
-- AUTOINCREMENT: an id is never handed out again after its body is freed, so nothing that
-- remembers an id (the engine's body cache) can ever get another batch's bytes for it.
CREATE TABLE batch_bodies (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  body BLOB NOT NULL,
  refs INTEGER NOT NULL
);
ALTER TABLE batches ADD COLUMN body_id INTEGER REFERENCES batch_bodies(id);
-- Runs for every way a batch goes: retention, a webhook's DELETE (cascade), and so on.
CREATE TRIGGER batches_release_body AFTER DELETE ON batches WHEN OLD.body_id IS NOT NULL BEGIN
  UPDATE batch_bodies SET refs = refs - 1 WHERE id = OLD.body_id;
  DELETE FROM batch_bodies WHERE id = OLD.body_id AND refs <= 0;
END;
`;
