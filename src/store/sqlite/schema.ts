import { blob, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import {
  AUTH_TYPES,
  VERIFICATIONS,
  WEBHOOK_FORMATS,
  type AuthCredentials,
  type AuthRequestDetails,
  type SendGridSettings,
  type WebhookFilter,
} from "../../webhooks/model.ts";
import type { ApiKeyRow, DomainRow, WebhookInsert, WebhookRow } from "../rows.ts";

// drizzle's view of the tables created by migrations/. test/store/schema.test.ts checks the
// two agree column by column, so a migration cannot drift from the code that reads it; the
// checks at the end keep the rows drizzle reads and writes the same as the driver-neutral
// ones every caller sees (../rows.ts).

export const apiKeys = sqliteTable("api_keys", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  prefix: text("prefix").notNull(),
  hash: text("hash").notNull().unique(),
  scopes: text("scopes", { mode: "json" }).notNull().$type<string[]>(),
  createdAt: integer("created_at").notNull(),
  lastUsedAt: integer("last_used_at"),
  revokedAt: integer("revoked_at"),
});

export const webhooks = sqliteTable("webhooks", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  target: text("target").notNull(),
  events: text("events", { mode: "json" }).notNull().$type<string[]>(),
  active: integer("active", { mode: "boolean" }).notNull().default(true),
  authType: text("auth_type", { enum: AUTH_TYPES }).notNull().default("none"),
  authToken: text("auth_token"),
  authCredentials: text("auth_credentials", { mode: "json" }).$type<AuthCredentials>(),
  authRequestDetails: text("auth_request_details", { mode: "json" }).$type<AuthRequestDetails>(),
  customHeaders: text("custom_headers", { mode: "json" }).$type<Record<string, string>>(),
  format: text("format", { enum: WEBHOOK_FORMATS }).notNull().default("hookd"),
  verification: text("verification", { enum: VERIFICATIONS }).notNull().default("test_post"),
  verificationState: text("verification_state", { mode: "json" }).$type<Record<string, string>>(),
  verifiedAt: integer("verified_at"),
  batchMaxEvents: integer("batch_max_events"),
  batchMaxBytes: integer("batch_max_bytes"),
  batchMaxWait: integer("batch_max_wait"),
  filter: text("filter", { mode: "json" }).$type<WebhookFilter>(),
  secret: text("secret").notNull(),
  previousSecret: text("previous_secret"),
  previousSecretUntil: integer("previous_secret_until"),
  signingPrivateKey: text("signing_private_key"),
  signingPublicKey: text("signing_public_key"),
  /** `sendgrid` format: whether SendGrid's ECDSA signature headers are sent. */
  ecdsaSigned: integer("ecdsa_signed", { mode: "boolean" }).notNull().default(true),
  sendgridSettings: text("sendgrid_settings", { mode: "json" }).$type<SendGridSettings>(),
  /** `sfmc` format: the key of x-sfmc-ens-signature (base64 of 32 random bytes), shown once at create. */
  sfmcSignatureKey: text("sfmc_signature_key"),
  cursorSeq: integer("cursor_seq").notNull().default(0),
  lastSuccessAt: integer("last_success_at"),
  lastFailureAt: integer("last_failure_at"),
  lastFailureCode: text("last_failure_code"),
  failingSince: integer("failing_since"),
  consecutiveFailures: integer("consecutive_failures").notNull().default(0),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const events = sqliteTable("events", {
  seq: integer("seq").primaryKey({ autoIncrement: true }),
  eventId: text("event_id").notNull().unique(),
  type: text("type").notNull(),
  ts: integer("ts").notNull(),
  host: text("host").notNull(),
  queueId: text("queue_id"),
  messageId: text("message_id"),
  mailFrom: text("mail_from"),
  rcptTo: text("rcpt_to"),
  /** A custom event's name (NULL for every other type), so subscriptions by name read no body. */
  customType: text("custom_type"),
  source: text("source").notNull(),
  body: text("body").notNull(),
  receivedAt: integer("received_at").notNull(),
  /** The notice kind of mail the MTA generated about another message; NULL for all other events. */
  notice: text("notice"),
});

export const batches = sqliteTable("batches", {
  id: text("id").primaryKey(),
  webhookId: text("webhook_id")
    .notNull()
    .references(() => webhooks.id, { onDelete: "cascade" }),
  kind: text("kind").notNull().default("live"),
  state: text("state").notNull().default("pending"),
  eventCount: integer("event_count").notNull(),
  bytes: integer("bytes").notNull(),
  firstSeq: integer("first_seq").notNull(),
  lastSeq: integer("last_seq").notNull(),
  body: blob("body", { mode: "buffer" }).notNull(),
  createdAt: integer("created_at").notNull(),
  attempts: integer("attempts").notNull().default(0),
  nextAttemptAt: integer("next_attempt_at").notNull(),
  leaseToken: text("lease_token"),
  leaseUntil: integer("lease_until"),
  firstAttemptAt: integer("first_attempt_at"),
  lastAttemptAt: integer("last_attempt_at"),
  lastResponseCode: integer("last_response_code"),
  lastFailureCode: text("last_failure_code"),
  doneAt: integer("done_at"),
  bodyId: integer("body_id").references(() => batchBodies.id),
  /** Who holds the lease (a fleet's node; migrations/0012-fleet.ts). */
  leaseNode: text("lease_node"),
  /** The order batches were cut in, given by a trigger (migrations/0012-fleet.ts). */
  ord: integer("ord"),
});

export const batchBodies = sqliteTable("batch_bodies", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  body: blob("body", { mode: "buffer" }).notNull(),
  refs: integer("refs").notNull(),
  /** SHA-256 of a replay batch's body, so that a replay of the same events shares it. */
  digest: blob("digest", { mode: "buffer" }),
});

export const attempts = sqliteTable("attempts", {
  id: integer("id").primaryKey(),
  batchId: text("batch_id")
    .notNull()
    .references(() => batches.id, { onDelete: "cascade" }),
  webhookId: text("webhook_id").notNull(),
  attempt: integer("attempt").notNull(),
  startedAt: integer("started_at").notNull(),
  latencyMs: integer("latency_ms"),
  responseCode: integer("response_code"),
  failureCode: text("failure_code"),
  responseSnippet: text("response_snippet"),
});

export const sourceCheckpoints = sqliteTable(
  "source_checkpoints",
  {
    node: text("node").notNull(),
    source: text("source").notNull(),
    dev: integer("dev"),
    ino: integer("ino"),
    fingerprint: text("fingerprint"),
    offset: integer("offset").notNull(),
    correlation: text("correlation"),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.node, t.source] })],
);

/** A fleet's nodes (one row on SQLite): started, last seen, their sources, for /status. */
export const nodes = sqliteTable("nodes", {
  name: text("name").primaryKey(),
  startedAt: integer("started_at").notNull(),
  lastSeenAt: integer("last_seen_at").notNull(),
  version: text("version").notNull(),
  sources: text("sources").notNull().default("[]"),
});

export const customEventTypes = sqliteTable("custom_event_types", {
  name: text("name").primaryKey(),
  firstSeenAt: integer("first_seen_at").notNull(),
});

/** Domains that prove themselves once for every dns_txt webhook on them (migrations/0007-domains.ts). */
export const domains = sqliteTable("domains", {
  domain: text("domain").primaryKey(),
  /** The TXT record's value is hookd-verification=<token>. */
  token: text("token").notNull(),
  verifiedAt: integer("verified_at"),
  lastCheckedAt: integer("last_checked_at"),
  createdAt: integer("created_at").notNull(),
});

// Tracking (migrations/0008-tracking.ts); read and written through store/tracking.ts.
export const trackingKeyring = sqliteTable("tracking_keyring", {
  id: integer("id").primaryKey(),
  ring: text("ring").notNull(),
  version: integer("version").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const trackedMessages = sqliteTable("tracked_messages", {
  id: integer("id").primaryKey(),
  createdAt: integer("created_at").notNull(),
  data: text("data").notNull(),
});

export const trackingFirsts = sqliteTable("tracking_firsts", {
  key: text("key").primaryKey(),
});

export const trackingMinutes = sqliteTable("tracking_minutes", {
  minute: integer("minute").primaryKey(),
  opens: integer("opens").notNull().default(0),
  machineOpens: integer("machine_opens").notNull().default(0),
  clicks: integer("clicks").notNull().default(0),
  machineClicks: integer("machine_clicks").notNull().default(0),
  unsubscribes: integer("unsubscribes").notNull().default(0),
});

/** Message-ID and queue id hashes → events that name them (migration 0010; store/message-lookup.ts). */
export const messageLookup = sqliteTable("message_lookup", {
  h: integer("h").notNull(),
  seq: integer("seq").notNull(),
});

export const messageLookupState = sqliteTable("message_lookup_state", {
  id: integer("id").primaryKey(),
  indexedSeq: integer("indexed_seq").notNull(),
});

// Each pair must be assignable both ways: a column added to a table and not to ../rows.ts (or
// the other way round, or with another type) fails tsc here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const ROW_TYPES_MATCH: [
  Same<typeof apiKeys.$inferSelect, ApiKeyRow>,
  Same<typeof webhooks.$inferSelect, WebhookRow>,
  Same<typeof webhooks.$inferInsert, WebhookInsert>,
  Same<typeof domains.$inferSelect, DomainRow>,
] = [true, true, true, true];
