// A replay of the same events for the same subscription and format makes the same bytes: the
// body is stored once and referenced again (refs), found by its SHA-256. Only replay bodies
// carry a digest — live batches are cut once — so the index covers only them.
export const sql = /* sql */ `
ALTER TABLE batch_bodies ADD COLUMN digest BLOB;
CREATE INDEX batch_bodies_digest ON batch_bodies(digest) WHERE digest IS NOT NULL;
`;
