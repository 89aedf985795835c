// PostgreSQL's first version: the schema SQLite reaches after its migrations 1–11, written once
// in PostgreSQL's dialect (a fleet starts on an empty database; nothing to upgrade from). Same
// tables, columns (in SQLite's physical order), constraints and indexes; what the translation
// changed, and why, is in ../schema.ts.
export const sql = /* sql */ `
CREATE TABLE api_keys (
  id text PRIMARY KEY,
  name text NOT NULL,
  prefix text NOT NULL,
  hash text NOT NULL UNIQUE,
  scopes json NOT NULL CHECK (json_typeof(scopes) = 'array'),
  created_at bigint NOT NULL,
  last_used_at bigint,
  revoked_at bigint
);

CREATE TABLE webhooks (
  id text PRIMARY KEY,
  name text NOT NULL,
  target text NOT NULL,
  events json NOT NULL CHECK (json_typeof(events) = 'array'),
  active boolean NOT NULL DEFAULT true,
  auth_type text NOT NULL DEFAULT 'none',
  auth_token text,
  auth_credentials json CHECK (json_typeof(auth_credentials) = 'object'),
  auth_request_details json CHECK (json_typeof(auth_request_details) = 'object'),
  custom_headers json CHECK (json_typeof(custom_headers) = 'object'),
  format text NOT NULL DEFAULT 'hookd',
  verification text NOT NULL DEFAULT 'test_post',
  verification_state json CHECK (json_typeof(verification_state) = 'object'),
  verified_at bigint,
  batch_max_events integer,
  batch_max_bytes bigint,
  batch_max_wait bigint,
  filter json CHECK (json_typeof(filter) = 'object'),
  secret text NOT NULL,
  previous_secret text,
  previous_secret_until bigint,
  signing_private_key text,
  signing_public_key text,
  cursor_seq bigint NOT NULL DEFAULT 0,
  last_success_at bigint,
  last_failure_at bigint,
  last_failure_code text,
  failing_since bigint,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  consecutive_failures integer NOT NULL DEFAULT 0,
  ecdsa_signed boolean NOT NULL DEFAULT true,
  sendgrid_settings json CHECK (json_typeof(sendgrid_settings) = 'object'),
  sfmc_signature_key text
);

-- Identity ALWAYS: a seq comes from the sequence only, and a sequence never hands a value out
-- twice (SQLite's AUTOINCREMENT). body stays text: receivers get its bytes as stored.
CREATE TABLE events (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id text NOT NULL UNIQUE,
  type text NOT NULL,
  ts bigint NOT NULL,
  host text NOT NULL,
  queue_id text,
  message_id text,
  mail_from text,
  rcpt_to text,
  source text NOT NULL,
  body text NOT NULL,
  received_at bigint NOT NULL,
  custom_type text,
  notice text
);
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_type_ts ON events (type, ts);

CREATE TABLE batch_bodies (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  body bytea NOT NULL,
  refs integer NOT NULL,
  digest bytea
);
CREATE INDEX batch_bodies_digest ON batch_bodies (digest) WHERE digest IS NOT NULL;

CREATE TABLE batches (
  id text PRIMARY KEY,
  webhook_id text NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  kind text NOT NULL DEFAULT 'live',
  state text NOT NULL DEFAULT 'pending',
  event_count integer NOT NULL,
  bytes bigint NOT NULL,
  first_seq bigint NOT NULL,
  last_seq bigint NOT NULL,
  body bytea NOT NULL,
  created_at bigint NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at bigint NOT NULL,
  lease_token text,
  lease_until bigint,
  first_attempt_at bigint,
  last_attempt_at bigint,
  last_response_code integer,
  last_failure_code text,
  done_at bigint,
  body_id bigint REFERENCES batch_bodies (id)
);
CREATE INDEX batches_due ON batches (next_attempt_at) WHERE state = 'pending';
CREATE INDEX batches_webhook ON batches (webhook_id, created_at);
CREATE INDEX batches_done ON batches (done_at) WHERE state = 'delivered';
CREATE INDEX batches_webhook_pending ON batches (webhook_id, state, created_at, id);
-- Not in SQLite: PostgreSQL does not index a referencing column by itself, and every body the
-- trigger below frees is checked against batches.body_id (without it, a scan of batches each).
CREATE INDEX batches_body ON batches (body_id);

CREATE TABLE attempts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  batch_id text NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
  webhook_id text NOT NULL,
  attempt integer NOT NULL,
  started_at bigint NOT NULL,
  latency_ms bigint,
  response_code integer,
  failure_code text,
  response_snippet text
);
CREATE INDEX attempts_batch ON attempts (batch_id, attempt);
CREATE INDEX attempts_started ON attempts (started_at);

-- dev and ino as the tailer has them: JS numbers, compared for equality, never computed on.
-- double precision holds any of them exactly (an inode past 2^63, which overlayfs can report,
-- would not fit a bigint) and comes back from Bun's SQL as a number.
CREATE TABLE source_checkpoints (
  source text PRIMARY KEY,
  dev double precision,
  ino double precision,
  fingerprint text,
  "offset" bigint NOT NULL,
  correlation text,
  updated_at bigint NOT NULL
);

CREATE TABLE custom_event_types (
  name text PRIMARY KEY,
  first_seen_at bigint NOT NULL
);

CREATE TABLE domains (
  domain text PRIMARY KEY,
  token text NOT NULL,
  verified_at bigint,
  last_checked_at bigint,
  created_at bigint NOT NULL
);

CREATE TABLE tracking_keyring (
  id integer PRIMARY KEY CHECK (id = 1),
  ring text NOT NULL,
  version integer NOT NULL,
  updated_at bigint NOT NULL
);
CREATE TABLE tracked_messages (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  created_at bigint NOT NULL,
  data text NOT NULL
);
CREATE TABLE tracking_firsts (key text PRIMARY KEY);
CREATE TABLE tracking_minutes (
  minute bigint PRIMARY KEY,
  opens integer NOT NULL DEFAULT 0,
  machine_opens integer NOT NULL DEFAULT 0,
  clicks integer NOT NULL DEFAULT 0,
  machine_clicks integer NOT NULL DEFAULT 0,
  unsubscribes integer NOT NULL DEFAULT 0
);

-- h: xxHash64 as a signed 64-bit integer (store/message-lookup.ts lookupKey); read it as a BigInt.
CREATE TABLE message_lookup (
  h bigint NOT NULL,
  seq bigint NOT NULL
);
CREATE INDEX message_lookup_h ON message_lookup (h, seq);
CREATE TABLE message_lookup_state (
  id integer PRIMARY KEY CHECK (id = 1),
  indexed_seq bigint NOT NULL
);

-- SQLite's batches_release_body trigger: a shared body goes with its last batch, however the
-- batch goes (retention, a webhook's DELETE cascading). Deletes of batches sharing a body
-- serialise on the body's row lock, and each sees the count the one before it left.
CREATE FUNCTION batches_release_body() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE batch_bodies SET refs = refs - 1 WHERE id = OLD.body_id;
  DELETE FROM batch_bodies WHERE id = OLD.body_id AND refs <= 0;
  RETURN NULL;
END
$$;
CREATE TRIGGER batches_release_body AFTER DELETE ON batches
  FOR EACH ROW WHEN (OLD.body_id IS NOT NULL) EXECUTE FUNCTION batches_release_body();
`;
