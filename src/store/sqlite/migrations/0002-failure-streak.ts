// A webhook is shown `failing` after a streak of failed attempts, and recovers on the next
// 2xx; the streak length is what decides it, so it is stored rather than recomputed.
export const sql = /* sql */ `
ALTER TABLE webhooks ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
CREATE INDEX batches_webhook_pending ON batches(webhook_id, state, created_at, id);
`;
