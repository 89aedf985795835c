// Format "sparkpost": SparkPost's webhook body, a JSON array of
// {"msys": {"message_event" | "track_event" | "unsubscribe_event": {...}}} with SparkPost's
// field names and its habit of sending numbers as strings ("timestamp": "1454442600",
// "bounce_class": "10"). The tables below are the whole mapping; docs print them, tests
// hold the code to them.
import type { BounceClass, Event, EventType } from "../../events/schema.ts";
import type { EventFields } from "./fields.ts";

export type SparkPostWrapper = "message_event" | "track_event" | "unsubscribe_event";

/** hookd `type` → SparkPost wrapper and `type`; null: the event is not sent in this format. */
export const SPARKPOST_EVENTS = {
  injection: { wrapper: "message_event", type: "injection" },
  delivery: { wrapper: "message_event", type: "delivery" },
  delay: { wrapper: "message_event", type: "delay" },
  bounce: { wrapper: "message_event", type: "bounce" },
  // SparkPost has no "expired": a message that outlives its retry period bounces with
  // bounce_class 24 and "554 5.4.7 [internal] exceeded max time without delivery".
  expired: { wrapper: "message_event", type: "bounce" },
  policy_rejection: { wrapper: "message_event", type: "policy_rejection" },
  out_of_band: { wrapper: "message_event", type: "out_of_band" },
  open: { wrapper: "track_event", type: "open" },
  click: { wrapper: "track_event", type: "click" },
  list_unsubscribe: { wrapper: "unsubscribe_event", type: "list_unsubscribe" },
  spam_complaint: { wrapper: "message_event", type: "spam_complaint" },
  // SparkPost has no slot for an application's own event names.
  custom: null,
} as const satisfies Record<EventType, { wrapper: SparkPostWrapper; type: string } | null>;

/**
 * hookd `bounce_class` → SparkPost's numeric bounce_class (sent as a string): 1 Undetermined,
 * 10 Invalid Recipient, 20 Soft Bounce, 22 Mailbox Full, 24 Timeout, 30 Generic Bounce:
 * No RCPT (SparkPost's generic hard bounce), 50 Mail Block, 51 Spam Block, 52 Spam Content.
 */
export const SPARKPOST_BOUNCE_CLASSES = {
  hard: "30",
  soft: "20",
  block: "50",
  quota: "22",
  spam: "51",
  unknown_user: "10",
  unknown_domain: "10",
  policy: "50",
  content: "52",
  auth: "50",
  network: "24",
  undetermined: "1",
} as const satisfies Record<BounceClass, string>;

// bounce_class when the event has none, or (expired) when its class is only soft/unknown.
const DEFAULT_BOUNCE_CLASS = { bounce: "1", expired: "24", policy_rejection: "25" } as const;
const EXPIRED_REASON = "554 5.4.7 [internal] exceeded max time without delivery";

/** Every hookd field and where it goes; `sparkpost: null` means not sent in this format. */
export const SPARKPOST_FIELDS = [
  { hookd: "event_id", sparkpost: "event_id", note: "" },
  { hookd: "type", sparkpost: "type", note: "and the wrapper; see SPARKPOST_EVENTS" },
  { hookd: "timestamp", sparkpost: "timestamp", note: "unix seconds, a string" },
  { hookd: "rcpt_to", sparkpost: "rcpt_to", note: "lower-cased" },
  { hookd: "rcpt_to", sparkpost: "raw_rcpt_to", note: "as logged" },
  { hookd: "rcpt_to", sparkpost: "routing_domain", note: "its domain, lower-cased" },
  { hookd: "mail_from", sparkpost: "msg_from", note: "" },
  { hookd: "message_id", sparkpost: "message_id", note: "queue_id when message_id is missing" },
  { hookd: "response", sparkpost: "raw_reason", note: "delay, bounce, expired, policy_rejection; expired without one: " + EXPIRED_REASON },
  { hookd: "response", sparkpost: "reason", note: "raw_reason with IPv4 addresses redacted to a.b.c.d, as SparkPost does" },
  { hookd: "response", sparkpost: "error_code", note: 'its SMTP reply code, e.g. "550"' },
  {
    hookd: "bounce_class",
    sparkpost: "bounce_class",
    note: 'delay, bounce, expired; numeric string, see SPARKPOST_BOUNCE_CLASSES; policy_rejection is always "25"',
  },
  { hookd: "attempt", sparkpost: "num_retries", note: "attempt - 1, a string" },
  { hookd: "delay_s", sparkpost: "queue_time", note: "milliseconds, a string" },
  { hookd: "delay_s", sparkpost: "injection_time", note: "timestamp - delay_s, RFC 3339 (injection: timestamp)" },
  { hookd: "size", sparkpost: "msg_size", note: "a string" },
  { hookd: "relay", sparkpost: "ip_address", note: "the next hop's IP, message events" },
  { hookd: "relay", sparkpost: "delv_method", note: '"esmtp" when the relay has an IP' },
  { hookd: "client_ip", sparkpost: "remote_addr", note: "" },
  { hookd: "ip", sparkpost: "ip_address", note: "the engaging client's IP" },
  { hookd: "user_agent", sparkpost: "user_agent", note: "" },
  { hookd: "url", sparkpost: "target_link_url", note: "" },
  { hookd: "feedback_type", sparkpost: "fbtype", note: "" },
  { hookd: "first", sparkpost: "type", note: "the first open of a message and recipient is an initial_open" },
  { hookd: "machine", sparkpost: null, note: "SparkPost has no such field" },
  { hookd: "machine_reason", sparkpost: null, note: "" },
  { hookd: "campaign_id", sparkpost: "campaign_id", note: "" },
  { hookd: "tags", sparkpost: "rcpt_tags", note: "" },
  { hookd: "metadata", sparkpost: "rcpt_meta", note: "" },
  { hookd: "queue_id", sparkpost: null, note: "only as message_id's fallback" },
  { hookd: "host", sparkpost: null, note: "" },
  { hookd: "orig_rcpt", sparkpost: null, note: "" },
  { hookd: "dsn", sparkpost: null, note: "SparkPost has no status field; it is in raw_reason" },
  { hookd: "nrcpt", sparkpost: null, note: "" },
  { hookd: "custom_type", sparkpost: null, note: "custom events are not sent" },
  { hookd: "data", sparkpost: null, note: "custom events are not sent" },
  {
    hookd: "notice",
    sparkpost: null,
    note: "notices are not sent: SparkPost sends none for the bounces, delay and success notices an MTA generates",
  },
] as const;

const FAILURES: ReadonlySet<EventType> = new Set(["delay", "bounce", "out_of_band", "expired", "policy_rejection"]);
// The IP inside Postfix's "mx.example.org[203.0.113.5]:25" or Exim's "mx.example.org [203.0.113.5]".
const RELAY_IP = /\[([0-9A-Fa-f:.]+)\]/;
const SMTP_CODE = /^([245]\d\d)(?:[ -]|$)/;
const IPV4 = /\b(?:\d{1,3}\.){3}\d{1,3}\b/g;

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace("Z", "+00:00");
}

function bounceClass(e: Event, f: EventFields): string | undefined {
  if (e.type === "policy_rejection") return DEFAULT_BOUNCE_CLASS.policy_rejection;
  const given = f.bounce_class ? SPARKPOST_BOUNCE_CLASSES[f.bounce_class] : undefined;
  if (e.type === "expired") {
    const vague = !f.bounce_class || f.bounce_class === "soft" || f.bounce_class === "undetermined";
    return vague ? DEFAULT_BOUNCE_CLASS.expired : given;
  }
  if (e.type === "bounce" || e.type === "out_of_band") return given ?? DEFAULT_BOUNCE_CLASS.bounce;
  return given; // delay: only when classified
}

/** One hookd event as SparkPost would have posted it, or null when SparkPost has no such event. */
export function toSparkPost(e: Event): { msys: Partial<Record<SparkPostWrapper, Record<string, unknown>>> } | null {
  const target = SPARKPOST_EVENTS[e.type];
  const f: EventFields = e;
  if (target === null || f.notice !== undefined) return null;
  const ms = Date.parse(e.timestamp);
  const out: Record<string, unknown> = {
    type: e.type === "open" && f.first ? "initial_open" : target.type,
    event_id: e.event_id,
    timestamp: String(Math.floor(ms / 1000)),
  };
  if (f.rcpt_to !== undefined) {
    const lower = f.rcpt_to.toLowerCase();
    out.rcpt_to = lower;
    out.raw_rcpt_to = f.rcpt_to;
    out.routing_domain = lower.slice(lower.lastIndexOf("@") + 1);
  }
  if (f.mail_from !== undefined) out.msg_from = f.mail_from;
  const messageId = f.message_id || f.queue_id;
  if (messageId) out.message_id = messageId;
  if (f.campaign_id !== undefined) out.campaign_id = f.campaign_id;
  if (f.tags?.length) out.rcpt_tags = f.tags;
  if (f.metadata) out.rcpt_meta = f.metadata;

  if (FAILURES.has(e.type)) {
    const raw = f.response ?? (e.type === "expired" ? EXPIRED_REASON : undefined);
    if (raw !== undefined) {
      out.raw_reason = raw;
      out.reason = raw.replace(IPV4, "a.b.c.d");
      const code = SMTP_CODE.exec(raw)?.[1];
      if (code) out.error_code = code;
    }
    const bc = bounceClass(e, f);
    if (bc) out.bounce_class = bc;
  }
  if (f.attempt !== undefined) out.num_retries = String(Math.max(0, f.attempt - 1));
  if (f.delay_s !== undefined) {
    out.queue_time = String(Math.round(f.delay_s * 1000));
    out.injection_time = rfc3339(ms - Math.round(f.delay_s * 1000));
  } else if (e.type === "injection") {
    out.injection_time = rfc3339(ms);
  }
  if (f.size !== undefined) out.msg_size = String(f.size);
  const relayIp = f.relay ? RELAY_IP.exec(f.relay)?.[1] : undefined;
  if (relayIp) {
    out.ip_address = relayIp;
    out.delv_method = "esmtp";
  }
  if (f.client_ip !== undefined) out.remote_addr = f.client_ip;

  if (f.ip !== undefined) out.ip_address = f.ip;
  if (f.user_agent !== undefined) out.user_agent = f.user_agent;
  if (f.url !== undefined) out.target_link_url = f.url;
  if (f.feedback_type !== undefined) out.fbtype = f.feedback_type;
  return { msys: { [target.wrapper]: out } };
}
