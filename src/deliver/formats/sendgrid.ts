// Format "sendgrid": SendGrid's Event Webhook body, a JSON array of flat objects with the
// names and value types a receiver written for SendGrid reads
// (https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event).
// The tables below are the whole mapping; docs print them, tests hold the code to them.
import type { BounceClass, Event, EventType } from "../../events/schema.ts";
import type { EventFields } from "./fields.ts";

/** hookd `type` → SendGrid `event`; null: the event is not sent in this format. */
export const SENDGRID_EVENTS = {
  injection: "processed",
  delivery: "delivered",
  delay: "deferred",
  bounce: "bounce",
  // SendGrid has no "expired": after 72 h of deferrals it reports a block, which is a
  // bounce with type "blocked". hookd does the same.
  expired: "bounce",
  policy_rejection: "dropped",
  out_of_band: "bounce",
  open: "open",
  click: "click",
  list_unsubscribe: "unsubscribe",
  spam_complaint: "spamreport",
  // An application's own event names mean nothing to a receiver written for SendGrid.
  custom: null,
} as const satisfies Record<EventType, string | null>;

/**
 * hookd `bounce_class` → SendGrid `bounce_classification`. `hard` is a permanent failure of
 * the address with no more specific reason: SendGrid's "Invalid Address" ("often referred
 * to as hard bounces"), as its `type: "bounce"` says (SENDGRID_ADDRESS_FAILURES). `soft`, a
 * temporary failure with no reason given, stays "Unclassified".
 */
export const SENDGRID_BOUNCE_CLASSIFICATIONS = {
  hard: "Invalid Address",
  soft: "Unclassified",
  block: "Reputation",
  quota: "Mailbox Unavailable",
  spam: "Reputation",
  unknown_user: "Invalid Address",
  unknown_domain: "Invalid Address",
  policy: "Reputation",
  content: "Content",
  auth: "Technical",
  network: "Technical",
  undetermined: "Unclassified",
} as const satisfies Record<BounceClass, string>;

/**
 * Bounce classes SendGrid reports as `type: "bounce"`: the address itself failed, so the
 * receiver suppresses it. Every other bounce is `"blocked"`, as are bounces with a 4.x.x
 * status (SendGrid: 5xx bounces, 4xx blocks) and every expired message.
 */
export const SENDGRID_ADDRESS_FAILURES: readonly BounceClass[] = ["hard", "unknown_user", "unknown_domain", "undetermined"];

/** Every hookd field and where it goes; `sendgrid: null` means not sent in this format. */
export const SENDGRID_FIELDS = [
  { hookd: "event_id", sendgrid: "sg_event_id", note: "" },
  { hookd: "type", sendgrid: "event", note: "see SENDGRID_EVENTS" },
  { hookd: "timestamp", sendgrid: "timestamp", note: "unix seconds, integer" },
  { hookd: "rcpt_to", sendgrid: "email", note: 'orig_rcpt when rcpt_to is missing, else ""' },
  { hookd: "message_id", sendgrid: "smtp-id", note: "in angle brackets" },
  { hookd: "message_id", sendgrid: "sg_message_id", note: "queue_id when message_id is missing" },
  { hookd: "response", sendgrid: "response", note: "processed, delivered, deferred" },
  { hookd: "response", sendgrid: "reason", note: "bounce, dropped" },
  { hookd: "dsn", sendgrid: "status", note: "bounce, dropped" },
  { hookd: "attempt", sendgrid: "attempt", note: "a string, as SendGrid sends it" },
  { hookd: "bounce_class", sendgrid: "type", note: "bounce and expired: bounce | blocked, see SENDGRID_ADDRESS_FAILURES" },
  { hookd: "bounce_class", sendgrid: "bounce_classification", note: "bounce and expired; see SENDGRID_BOUNCE_CLASSIFICATIONS" },
  { hookd: "url", sendgrid: "url", note: "" },
  { hookd: "user_agent", sendgrid: "useragent", note: "" },
  { hookd: "ip", sendgrid: "ip", note: "the engaging client's IP" },
  { hookd: "tags", sendgrid: "category", note: "an array" },
  { hookd: "campaign_id", sendgrid: "campaign_id", note: "top level, as a custom arg" },
  { hookd: "metadata", sendgrid: "(each key at top level)", note: "as custom args; never replaces a SendGrid field" },
  { hookd: "queue_id", sendgrid: null, note: "only as sg_message_id's fallback" },
  { hookd: "orig_rcpt", sendgrid: null, note: "only as email's fallback" },
  { hookd: "host", sendgrid: null, note: "" },
  { hookd: "mail_from", sendgrid: null, note: "" },
  { hookd: "relay", sendgrid: null, note: "SendGrid's ip is the sending IP, not the next hop" },
  { hookd: "delay_s", sendgrid: null, note: "" },
  { hookd: "size", sendgrid: null, note: "" },
  { hookd: "nrcpt", sendgrid: null, note: "" },
  { hookd: "client_ip", sendgrid: null, note: "" },
  { hookd: "machine", sendgrid: "sg_machine_open", note: "opens only: true when a proxy or prefetch fetched the pixel" },
  { hookd: "first", sendgrid: null, note: "SendGrid does not say which open or click came first" },
  { hookd: "machine_reason", sendgrid: null, note: "" },
  { hookd: "feedback_type", sendgrid: null, note: "" },
  { hookd: "custom_type", sendgrid: null, note: "custom events are not sent" },
  { hookd: "data", sendgrid: null, note: "custom events are not sent" },
  {
    hookd: "notice",
    sendgrid: null,
    note: "notices are not sent: SendGrid sends none for the bounces, delay and success notices an MTA generates",
  },
] as const;

const addressFailures: ReadonlySet<string> = new Set(SENDGRID_ADDRESS_FAILURES);

/** One hookd event as SendGrid would have posted it, or null when SendGrid has no such event. */
export function toSendGrid(e: Event): Record<string, unknown> | null {
  const event = SENDGRID_EVENTS[e.type];
  const f: EventFields = e;
  if (event === null || f.notice !== undefined) return null;
  const out: Record<string, unknown> = {};
  // Custom args first, so SendGrid's own fields below win a name clash. "__proto__" would
  // set the object's prototype instead of a key: it is dropped.
  const meta = f.metadata;
  if (meta) for (const k in meta) if (k !== "__proto__") out[k] = meta[k];
  if (f.campaign_id !== undefined) out.campaign_id = f.campaign_id;

  out.email = f.rcpt_to ?? f.orig_rcpt ?? "";
  out.timestamp = Math.floor(Date.parse(e.timestamp) / 1000);
  out.event = event;
  out.sg_event_id = e.event_id;
  const messageId = f.message_id || f.queue_id;
  if (messageId) out.sg_message_id = messageId;
  if (f.message_id) out["smtp-id"] = `<${f.message_id}>`;
  if (f.tags?.length) out.category = f.tags;

  const failed = event === "bounce" || event === "dropped";
  if (f.response !== undefined) out[failed ? "reason" : "response"] = f.response;
  if (failed && f.dsn !== undefined) out.status = f.dsn;
  if (f.attempt !== undefined) out.attempt = String(f.attempt);
  if (event === "bounce") {
    const addressFailed =
      (e.type === "bounce" || e.type === "out_of_band") && addressFailures.has(f.bounce_class ?? "undetermined") && !f.dsn?.startsWith("4");
    out.type = addressFailed ? "bounce" : "blocked";
    out.bounce_classification = SENDGRID_BOUNCE_CLASSIFICATIONS[f.bounce_class ?? "undetermined"];
  }

  if (f.url !== undefined) out.url = f.url;
  if (f.user_agent !== undefined) out.useragent = f.user_agent;
  if (f.ip !== undefined) out.ip = f.ip;
  if (event === "open" && f.machine !== undefined) out.sg_machine_open = f.machine;
  return out;
}
