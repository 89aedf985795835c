// SendGrid's Event Webhook API turns a webhook's ECDSA signature on and off
// (PATCH /v3/user/webhooks/event/settings/signed/{id}). Until now every sendgrid-format
// webhook with a key signed, so existing rows stay signed (DEFAULT 1).
// sendgrid_settings keeps SendGrid's per-type settings that hookd has no event type for
// (group_unsubscribe, group_resubscribe, account_status_change), so they read back as sent.
export const sql = /* sql */ `
ALTER TABLE webhooks ADD COLUMN ecdsa_signed INTEGER NOT NULL DEFAULT 1;
ALTER TABLE webhooks ADD COLUMN sendgrid_settings TEXT;
`;
