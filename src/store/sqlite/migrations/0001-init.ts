// The first schema. Designed with the delivery and ingest issues in mind so that they add
// behaviour, not tables. Times are integer milliseconds since the epoch (UTC).
export const sql = /* sql */ `
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,                 -- shown in lists so operators can tell keys apart
  hash TEXT NOT NULL UNIQUE,            -- sha256 hex of the whole key; the key itself is never stored
  scopes TEXT NOT NULL,                 -- JSON array of scope names
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at INTEGER
);

CREATE TABLE webhooks (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  target TEXT NOT NULL,
  events TEXT NOT NULL,                 -- JSON array of event types, or ["*"]
  active INTEGER NOT NULL DEFAULT 1,
  auth_type TEXT NOT NULL DEFAULT 'none',
  auth_token TEXT,
  auth_credentials TEXT,                -- JSON {username, password}
  auth_request_details TEXT,            -- JSON {url, body: {client_id, client_secret}}
  custom_headers TEXT,                  -- JSON object
  format TEXT NOT NULL DEFAULT 'hookd',
  verification TEXT NOT NULL DEFAULT 'test_post',
  verification_state TEXT,              -- JSON: handshake keys / dns token while pending
  verified_at INTEGER,
  batch_max_events INTEGER,             -- NULL: the config default
  batch_max_bytes INTEGER,
  batch_max_wait INTEGER,
  filter TEXT,                          -- JSON
  secret TEXT NOT NULL,                 -- whsec_…
  previous_secret TEXT,                 -- still signs until previous_secret_until (rotation)
  previous_secret_until INTEGER,
  signing_private_key TEXT,             -- ECDSA P-256 for the sendgrid format (PKCS#8, base64)
  signing_public_key TEXT,              -- SPKI DER, base64
  cursor_seq INTEGER NOT NULL DEFAULT 0,-- events with seq <= cursor_seq are already in a batch
  last_success_at INTEGER,
  last_failure_at INTEGER,
  last_failure_code TEXT,
  failing_since INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- Append-only. seq orders everything downstream (batching cursors, replay, search cursor);
-- AUTOINCREMENT so a seq is never reused after retention prunes the newest rows.
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  ts INTEGER NOT NULL,                  -- the event's own time
  host TEXT NOT NULL,
  queue_id TEXT,
  message_id TEXT,
  mail_from TEXT,
  rcpt_to TEXT,
  source TEXT NOT NULL,                 -- 'api' or the log source path
  body TEXT NOT NULL,                   -- the event as JSON, exactly as receivers get it
  received_at INTEGER NOT NULL
);
CREATE INDEX events_ts ON events(ts);
CREATE INDEX events_type_ts ON events(type, ts);
CREATE INDEX events_rcpt_ts ON events(rcpt_to, ts);
CREATE INDEX events_message_id ON events(message_id);
CREATE INDEX events_queue_id ON events(queue_id);
CREATE INDEX events_received_at ON events(received_at);

-- A batch is written (id and body) before its first attempt, so webhook-id and the signed
-- body are identical on every retry. The body is kept until the batch is pruned.
CREATE TABLE batches (
  id TEXT PRIMARY KEY,                  -- sent as webhook-id
  webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  kind TEXT NOT NULL DEFAULT 'live',    -- live | replay
  state TEXT NOT NULL DEFAULT 'pending',-- pending | delivered | dead
  event_count INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  first_seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  body BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  lease_token TEXT,                     -- claim token; every update checks it
  lease_until INTEGER,                  -- a crashed sender's claim expires
  first_attempt_at INTEGER,
  last_attempt_at INTEGER,
  last_response_code INTEGER,
  last_failure_code TEXT,
  done_at INTEGER                       -- delivered or dead-lettered at
);
CREATE INDEX batches_due ON batches(next_attempt_at) WHERE state = 'pending';
CREATE INDEX batches_webhook ON batches(webhook_id, created_at);
CREATE INDEX batches_done ON batches(done_at) WHERE state = 'delivered';

CREATE TABLE attempts (
  id INTEGER PRIMARY KEY,
  batch_id TEXT NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
  webhook_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  latency_ms INTEGER,
  response_code INTEGER,
  failure_code TEXT,
  response_snippet TEXT
);
CREATE INDEX attempts_batch ON attempts(batch_id, attempt);
CREATE INDEX attempts_started ON attempts(started_at);

-- Tailer position per configured source, written in the same transaction as the events
-- read up to it.
CREATE TABLE source_checkpoints (
  source TEXT PRIMARY KEY,
  dev INTEGER,
  ino INTEGER,
  fingerprint TEXT,
  offset INTEGER NOT NULL,
  correlation TEXT,                     -- JSON snapshot of in-flight messages
  updated_at INTEGER NOT NULL
);

CREATE TABLE custom_event_types (
  name TEXT PRIMARY KEY,
  first_seen_at INTEGER NOT NULL
);
`;
