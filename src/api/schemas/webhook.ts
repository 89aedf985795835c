import { z } from "zod";
import { EVENT_TYPES } from "../../events/schema.ts";
import { parseDuration, parseSize } from "../../lib/units.ts";
import { SPARKPOST_EVENT_ALIASES } from "../../webhooks/fields.ts";
import { AUTH_TYPES, VERIFICATIONS, WEBHOOK_FORMATS, WEBHOOK_STATUSES } from "../../webhooks/model.ts";

// The webhook resource as the API sees it. SparkPost's field names where SparkPost has one,
// so SparkPost clients work unchanged. One base; create, update and response derive from it.

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// hookd sets these itself; letting a webhook override them would break signing or framing.
const RESERVED_HEADERS = new Set([
  "content-type",
  "content-length",
  "host",
  "user-agent",
  "transfer-encoding",
  "connection",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
  "x-messagesystems-webhook-token",
  "x-messagesystems-batch-id",
  "x-twilio-email-event-webhook-signature",
  "x-twilio-email-event-webhook-timestamp",
  "x-sfmc-ens-signature",
]);

export const TargetUrl = z
  .url({ protocol: /^https?$/, error: "expected an http:// or https:// URL" })
  .max(2048)
  .meta({
    description: "Where batches are POSTed (http or https). No user:password@: credentials go in auth_credentials.",
    example: "https://hooks.example.com/mail-events",
  });

const MAX_WAIT_MS = 86_400_000;
const MAX_BATCH_BYTES = 100_000_000;

const DurationMs = z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
  const ms = typeof v === "number" ? v : parseDuration(v);
  if (ms === null || ms > MAX_WAIT_MS) {
    ctx.addIssue({
      code: "custom",
      message: `expected a duration up to 1d like "500ms" or "5s", got ${JSON.stringify(v)}`,
      params: { code: "invalid_format" },
    });
    return z.NEVER;
  }
  return ms;
});

const SizeBytes = z.union([z.number().int().positive(), z.string()]).transform((v, ctx) => {
  const n = typeof v === "number" ? v : parseSize(v);
  if (n === null || n < 1000 || n > MAX_BATCH_BYTES) {
    ctx.addIssue({
      code: "custom",
      message: `expected a size from 1KB to 100MB like "1MB", got ${JSON.stringify(v)}`,
      params: { code: "invalid_format" },
    });
    return z.NEVER;
  }
  return n;
});

const EVENT_ENTRIES = [...EVENT_TYPES, "*", ...(Object.keys(SPARKPOST_EVENT_ALIASES) as (keyof typeof SPARKPOST_EVENT_ALIASES)[])] as const;

// A custom event's own name, as POST /events accepts it in custom_type.
const CustomTypeName = z
  .string()
  .regex(
    /^[a-z][a-z0-9_.-]{0,63}$/,
    `expected an event type (${EVENT_TYPES.join(", ")}), "*", or a custom event name like "profile.created"`,
  )
  .meta({ description: "A custom event's name (custom_type), declared in the config (events.custom_types) or seen in POST /events." });

export const WebhookEvents = z
  .array(z.union([z.enum(EVENT_ENTRIES), CustomTypeName]))
  .min(1, 'expected at least one event type (or "*")')
  .max(100, "at most 100 event types")
  .meta({
    description:
      'Event types to send, or ["*"] for all. `custom` is every custom event; a custom event\'s own name ("profile.created") only that one, once declared in the config (events.custom_types) or seen in POST /events. A name that is also a hookd type means the hookd type. SparkPost\'s initial_open, amp_open, amp_initial_open, amp_click and link_unsubscribe are accepted as open, click and list_unsubscribe.',
    example: ["delivery", "bounce"],
  });

export const AuthType = z.enum(AUTH_TYPES);
export const WebhookFormat = z.enum(WEBHOOK_FORMATS);
export const Verification = z.enum(VERIFICATIONS);

const Domain = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.-]+$/, "expected a domain name like example.com");

export const WebhookFilter = z
  .strictObject({
    sender_domains: z.array(Domain).max(100).optional(),
    rcpt_domains: z.array(Domain).max(100).optional(),
    hosts: z.array(z.string().min(1).max(255)).max(100).optional(),
    machine: z.boolean().optional().meta({
      description:
        "false: leave out opens, clicks and unsubscribes marked machine: true (prefetches, image proxies, link scanners). true or absent: send them.",
    }),
    notices: z.boolean().optional().meta({
      description:
        "false leaves out mail the MTA generated itself about another message (bounce, delay and success notices to its sender).",
    }),
  })
  .meta({
    description: "Only events matching every given list (and the machine flag) are sent.",
    example: { rcpt_domains: ["example.org"], machine: false },
  });

const writable = {
  name: z.string().trim().min(1, "is required").max(255, "at most 255 characters").meta({ example: "Bounce handler" }),
  target: TargetUrl,
  events: WebhookEvents,
  active: z.boolean().meta({ description: "false pauses delivery; events queue until it is true again." }),
  auth_type: AuthType.meta({ description: "How hookd authenticates to the receiver." }),
  auth_token: z.string().min(1).max(1024).meta({
    description:
      "Sent in X-MessageSystems-Webhook-Token on every request to the target, whatever auth_type (as SparkPost does); auth_type token requires one.",
  }),
  auth_credentials: z.strictObject({ username: z.string().min(1).max(255), password: z.string().max(1024) }),
  auth_request_details: z.strictObject({
    url: TargetUrl.meta({ description: "OAuth2 token endpoint." }),
    body: z.strictObject({ client_id: z.string().min(1).max(1024), client_secret: z.string().min(1).max(1024) }),
  }),
  custom_headers: z
    .record(
      z
        .string()
        .regex(HEADER_NAME, "expected an HTTP header name")
        .refine((h) => !RESERVED_HEADERS.has(h.toLowerCase()), "is set by hookd and cannot be overridden"),
      z
        .string()
        .max(4096)
        .regex(/^[\t\x20-\x7e\x80-\xff]*$/, "header values may only hold printable characters (no line breaks or control characters)"),
    )
    .refine((h) => Object.keys(h).length <= 50, "at most 50 custom headers"),
  format: WebhookFormat.meta({
    description:
      "Body and headers: hookd's own, or SendGrid's, SparkPost's, Salesforce Marketing Cloud's (sfmc: ENS events signed in x-sfmc-ens-signature with the signature_key returned at create) or Copernica's (copernica: one event per form-encoded request; batch_max_events is then 1).",
  }),
  verification: Verification.meta({ description: "How the target proves it wants the events." }),
  batch_max_events: z.number().int().min(1).max(100_000),
  batch_max_bytes: SizeBytes,
  batch_max_wait: DurationMs.meta({ description: 'Longest wait before a partial batch is sent, e.g. "1s".' }),
  filter: WebhookFilter,
};

export const WebhookCreate = z
  .strictObject({
    ...writable,
    active: writable.active.default(true),
    auth_type: writable.auth_type.default("none"),
    format: writable.format.default("hookd"),
    verification: writable.verification.default("test_post"),
    auth_token: writable.auth_token.optional(),
    auth_credentials: writable.auth_credentials.optional(),
    auth_request_details: writable.auth_request_details.optional(),
    custom_headers: writable.custom_headers.optional(),
    batch_max_events: writable.batch_max_events.optional(),
    batch_max_bytes: writable.batch_max_bytes.optional(),
    batch_max_wait: writable.batch_max_wait.optional(),
    filter: writable.filter.optional(),
  })
  .meta({ id: "WebhookCreate" });
export type WebhookCreate = z.infer<typeof WebhookCreate>;

export const WebhookUpdate = z
  .strictObject({
    ...writable,
    // null clears an override or a credential
    auth_token: writable.auth_token.nullable(),
    auth_credentials: writable.auth_credentials.nullable(),
    auth_request_details: writable.auth_request_details.nullable(),
    custom_headers: writable.custom_headers.nullable(),
    batch_max_events: writable.batch_max_events.nullable(),
    batch_max_bytes: writable.batch_max_bytes.nullable(),
    batch_max_wait: writable.batch_max_wait.nullable(),
    filter: writable.filter.nullable(),
  })
  .partial()
  .meta({ id: "WebhookUpdate" });
export type WebhookUpdate = z.infer<typeof WebhookUpdate>;

export const WebhookStatus = z.enum(WEBHOOK_STATUSES);

const Link = z.object({ href: z.string(), rel: z.string(), method: z.array(z.string()) });

export const WebhookView = z
  .object({
    id: z.string(),
    name: z.string(),
    target: z.string().meta({ description: "Userinfo and query values redacted for keys without webhooks:write." }),
    events: z.array(z.string()),
    active: z.boolean(),
    status: WebhookStatus,
    auth_type: AuthType,
    auth_token: z.string().optional().meta({ description: "Redacted." }),
    auth_credentials: z.object({ username: z.string(), password: z.string() }).optional().meta({ description: "Password redacted." }),
    auth_request_details: z
      .object({ url: z.string(), body: z.object({ client_id: z.string(), client_secret: z.string() }) })
      .optional()
      .meta({ description: "client_secret redacted; for keys without webhooks:write, the url's userinfo and query values too." }),
    custom_headers: z
      .record(z.string(), z.string())
      .optional()
      .meta({ description: "Values of credential-like headers redacted; every value for keys without webhooks:write." }),
    format: WebhookFormat,
    ecdsa_signed: z.boolean().meta({
      description:
        "Format sendgrid: whether SendGrid's ECDSA signature headers are sent. Read-only here; SendGrid's API (/v3/user/webhooks/event/settings/signed/{id}) turns it on and off.",
    }),
    verification: Verification,
    batch_max_events: z.number().nullable(),
    batch_max_bytes: z.number().nullable(),
    batch_max_wait: z.number().nullable().meta({ description: "Milliseconds; null: the config default." }),
    filter: WebhookFilter.nullable(),
    created: z.string(),
    updated: z.string(),
    last_successful: z.string().nullable().meta({ description: "Time of the last 2xx." }),
    last_failure: z.string().nullable(),
    last_failure_code: z.string().nullable(),
    queue_depth: z.number().meta({ description: "Events waiting for this webhook (batched or not yet)." }),
    pending_batches: z.number(),
    dead_batches: z.number().meta({ description: "Dead-lettered batches; POST …/retry sends them again." }),
    oldest_pending: z.string().nullable().meta({ description: "When the oldest waiting event arrived." }),
    dns_txt_record: z
      .object({ names: z.array(z.string()), value: z.string() })
      .optional()
      .meta({ description: "While dns_txt verification is pending: publish this TXT value on one of these names." }),
    links: z.array(Link),
  })
  .meta({ id: "Webhook" });
export type WebhookView = z.infer<typeof WebhookView>;

export const WebhookCreated = z
  .object({
    id: z.string(),
    links: z.array(Link),
    secret: z.string().meta({ description: "The whsec_ signing secret; shown in full only here." }),
    signature_key: z.string().optional().meta({
      description:
        "Format sfmc: the key that verifies x-sfmc-ens-signature (base64, as SFMC's callback signatureKey); shown only here. POST …/regenerate-signature-key replaces it.",
    }),
    verification: z
      .object({
        type: z.string(),
        status: z.literal("pending_verification"),
        txt_record: z.object({ names: z.array(z.string()), value: z.string() }).optional(),
      })
      .optional()
      .meta({ description: "For handshake and dns_txt: what completes the verification (the TXT record to publish)." }),
  })
  .meta({ id: "WebhookCreated" });
export type WebhookCreated = z.infer<typeof WebhookCreated>;
