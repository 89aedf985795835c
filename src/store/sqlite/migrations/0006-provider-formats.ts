// Webhooks may subscribe to custom events by name ("profile.created"). The batcher decides
// membership from light columns only, never the JSON body, so a custom event's name gets a
// column of its own (NULL for every other type); the events stored before it are filled in.
// sfmc_signature_key is the `sfmc` format's x-sfmc-ens-signature key, per webhook.
export const sql = /* sql */ `
ALTER TABLE events ADD COLUMN custom_type TEXT;
UPDATE events SET custom_type = json_extract(body, '$.custom_type') WHERE type = 'custom';
ALTER TABLE webhooks ADD COLUMN sfmc_signature_key TEXT;
`;
