// Tracking (opens, clicks, one-click unsubscribes served by hookd). Tokens carry the message
// themselves and verify with a key, so a hit reads at most one row (its tracked message) and
// writes its event, its `first` claim and its minute's counts, in the hit batch's transaction.
// - tracking_keyring: one row, the signing keys as JSON (secrets base64url); `version` grows
//   with each rotation, so a listener notices a rotation with one point read.
// - tracked_messages: the campaign data given when a message was tracked (a token's `ref`).
// - tracking_firsts: which (type, message, recipient) has had its first open or click.
// - tracking_minutes: recorded hits per minute for the admin page's Tracking view.
export const sql = /* sql */ `
CREATE TABLE tracking_keyring (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  ring TEXT NOT NULL,
  version INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE tracked_messages (
  id INTEGER PRIMARY KEY,
  created_at INTEGER NOT NULL,
  data TEXT NOT NULL
);
CREATE TABLE tracking_firsts (key TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE tracking_minutes (
  minute INTEGER PRIMARY KEY,
  opens INTEGER NOT NULL DEFAULT 0,
  machine_opens INTEGER NOT NULL DEFAULT 0,
  clicks INTEGER NOT NULL DEFAULT 0,
  machine_clicks INTEGER NOT NULL DEFAULT 0,
  unsubscribes INTEGER NOT NULL DEFAULT 0
);
`;
