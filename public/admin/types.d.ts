// The JSON the REST API answers, as the admin page reads it. The API's zod schemas (src/api/)
// are the truth and /api/v1/openapi.json shows them; these name the fields the page uses.
// Types only: the browser never loads this file.

export type ErrorItem = { message: string; code?: string; field?: string };

export type WebhookStatus = "active" | "pending_verification" | "inactive" | "failing";

export type Webhook = {
  id: string;
  name: string;
  target: string;
  events: string[];
  active: boolean;
  status: WebhookStatus;
  auth_type: string;
  auth_credentials?: { username: string; password: string };
  auth_request_details?: { url: string; body: { client_id: string; client_secret: string } };
  custom_headers?: Record<string, string>;
  format: string;
  verification: string;
  batch_max_events: number | null;
  batch_max_wait: number | null;
  filter: WebhookFilter | null;
  last_successful: string | null;
  last_failure: string | null;
  last_failure_code: string | null;
  queue_depth: number;
  pending_batches: number;
  dead_batches: number;
  oldest_pending: string | null;
};

export type WebhookFilter = { sender_domains?: string[]; rcpt_domains?: string[]; hosts?: string[]; machine?: boolean };

/** What the create and edit forms send: WebhookCreate, or a WebhookUpdate of the changes. */
export type WebhookBody = Record<string, unknown>;

export type BatchState = "pending" | "delivered" | "dead";

export type BatchStatus = {
  batch_id: string;
  ts: string;
  attempts: number;
  /** HTTP status of the last attempt, as SparkPost gives it (a string). */
  response_code: string | null;
  failure_code: string | null;
  state: BatchState;
  kind: "live" | "replay";
  events: number;
  next_attempt: string | null;
};

export type Attempt = {
  attempt: number;
  ts: string;
  latency_ms: number | null;
  response_code: number | null;
  failure_code: string | null;
  response: string | null;
};

export type BatchDetail = { batch_id: string; attempts: Attempt[] };

export type ValidateResult = {
  msg: string;
  response: { status: number | null; body: string };
  latency_ms: number;
  failure_code: string | null;
};

/** One webhook's answer to "Check all" (POST /webhooks/validate). */
export type CheckResult = ValidateResult & { id: string; name: string };

/** A domain verified by a DNS TXT record for every dns_txt webhook on it. */
export type Domain = {
  domain: string;
  status: "pending" | "verified";
  txt_record: { name: string; value: string };
  created: string;
  verified: string | null;
  last_checked: string | null;
};

export type SourceStatus = {
  path: string;
  format: string;
  status: string;
  offset: number;
  size: number;
  lag_bytes: number;
  lines_per_second: number;
  lines_read: number;
  lines_not_understood: number;
  recent_not_understood: string[];
};

export type QueueStatus = {
  id: string;
  name: string;
  status: string;
  queue_depth: number;
  oldest_pending: string | null;
  dead_batches: number;
};

export type TrackingCounts = {
  hits: { open: number; click: number; unsubscribe: number };
  machine: { open: number; click: number };
  notFound: number;
  rateLimited: number;
  recorded: number;
  queueFull: number;
  commitFailed: number;
  answeredBeforeCommit: number;
};

export type TrackingStatus = {
  enabled: boolean;
  listen: string;
  base_url: string;
  up: boolean;
  address: string | null;
  counts: TrackingCounts;
  keys: { id: number; current: boolean; retires_at: string | null }[];
};

export type UnparsedSample = {
  at: string;
  reason: string;
  size: number;
  mail_from: string;
  rcpt_to: string[];
  from?: string;
  subject?: string;
  message_id?: string;
  excerpt: string;
};

/** The feedback listener (bounce reports, complaints, unsubscribe mail over LMTP). */
export type FeedbackStatus = {
  listen: string;
  received: Record<"dsn" | "complaint" | "unsubscribe" | "plain_bounce" | "not_a_report", number>;
  matched: Record<"verp" | "unsubscribe_token" | "message_id" | "queue_id" | "none", number>;
  events: number;
  own_dsns: number;
  rejected_tokens: number;
  commit_failures: number;
  too_large: number;
  /** null: the key lacks events:read (the samples hold addresses and message text). */
  unparsed: UnparsedSample[] | null;
};

export type Status = {
  version: string;
  uptime_s: number;
  sources: SourceStatus[];
  events_per_minute: number[];
  webhooks: QueueStatus[];
  tracking: TrackingStatus;
  /** null when [feedback] listen is off; absent from an older hookd. */
  feedback?: FeedbackStatus | null;
};

export type TrackingRange = "hour" | "day" | "week";

export type TrackingBucket = { start: string; opens: number; machine_opens: number; clicks: number; machine_clicks: number; unsubscribes: number };

export type TrackingStats = { range: TrackingRange; bucket_seconds: number; buckets: TrackingBucket[] };

/** A stored event: these fields, and whatever else its type carries. */
export type MailEvent = {
  event_id: string;
  type: string;
  timestamp: string;
  custom_type?: string;
  rcpt_to?: string;
  message_id?: string;
  [field: string]: unknown;
};

export type EventPage = { results: MailEvent[]; next_cursor: string | null };

export type EventQuery = { type?: string; rcpt_to?: string; message_id?: string; since?: string | undefined; until?: string | undefined };

/** The enums the webhook form offers, read from the OpenAPI document. */
export type FormSchema = { eventTypes: string[]; authTypes: string[]; formats: string[]; verifications: string[] };
