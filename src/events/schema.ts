import { z } from "zod";

// The one definition of hookd's events. The API validates POST /events with these schemas,
// the store keeps events in the `Event` shape, the OpenAPI document and the event
// catalog are generated from the descriptions and examples given here.

export const MAIL_EVENT_TYPES = ["injection", "delivery", "delay", "bounce", "expired", "policy_rejection", "out_of_band"] as const;
export const ENGAGEMENT_EVENT_TYPES = ["open", "click", "list_unsubscribe", "spam_complaint"] as const;
export const EVENT_TYPES = [...MAIL_EVENT_TYPES, ...ENGAGEMENT_EVENT_TYPES, "custom"] as const;

export const EventType = z.enum(EVENT_TYPES).meta({
  description: "Event type. `custom` events carry their own name in `custom_type`.",
  example: "delivery",
});
export type EventType = z.infer<typeof EventType>;

export const BOUNCE_CLASSES = [
  "hard",
  "soft",
  "block",
  "quota",
  "spam",
  "unknown_user",
  "unknown_domain",
  "policy",
  "content",
  "auth",
  "network",
  "undetermined",
] as const;
export const BounceClass = z.enum(BOUNCE_CLASSES).meta({
  description: "Why a delivery failed, classified from DSN, SMTP code and response text.",
  example: "unknown_user",
});
export type BounceClass = z.infer<typeof BounceClass>;

// event_id is what receivers dedupe on; keep it to URL- and header-safe characters.
export const EventId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, "expected letters, digits, '.', '_', ':' or '-'")
  .meta({ description: "Stable id of the event; receivers dedupe on it.", example: "01JDQ3ZK8X4Y0V9D7N2M5R6T8W" });

const Timestamp = z.iso
  .datetime({ offset: true })
  .meta({ description: "When it happened (RFC 3339). Stored and sent in UTC.", example: "2026-11-23T13:07:09.123Z" });

const Email = z
  .string()
  .max(320)
  .regex(/^[^\s@<>]+@[^\s@<>]+$/, "expected an email address like user@example.com");

const common = {
  event_id: EventId.optional(),
  timestamp: Timestamp.optional(),
  host: z.string().min(1).max(255).optional().meta({ description: "Mail host the event came from.", example: "mx1" }),
  message_id: z
    .string()
    .max(998)
    .optional()
    .meta({ description: "The Message-ID header, without angle brackets.", example: "20261123130709.4BCD2@example.com" }),
  queue_id: z.string().max(64).optional().meta({ description: "MTA queue id.", example: "4BCD21C03F2" }),
  mail_from: z.string().max(320).optional().meta({ description: "Envelope sender ('' for bounces).", example: "news@example.com" }),
  campaign_id: z.string().max(255).optional().meta({ description: "Application campaign id.", example: "spring-sale" }),
  tags: z
    .array(z.string().max(255))
    .max(50)
    .optional()
    .meta({ description: "Free-form tags.", example: ["newsletter"] }),
  metadata: z
    .record(z.string().max(255), z.union([z.string().max(4096), z.number(), z.boolean(), z.null()]))
    .optional()
    .meta({ description: "Application key/value pairs, passed through to receivers.", example: { customer: "42" } }),
};

const mailFields = {
  rcpt_to: Email.optional().meta({ description: "Final recipient.", example: "alice@example.org" }),
  orig_rcpt: Email.optional().meta({ description: "Original recipient before alias expansion.", example: "sales@example.org" }),
  relay: z.string().max(512).optional().meta({ description: "Next hop as the MTA logged it.", example: "mx.example.org[203.0.113.5]:25" }),
  dsn: z
    .string()
    .regex(/^[245]\.\d{1,3}\.\d{1,3}$/, "expected a DSN status like 5.1.1")
    .optional()
    .meta({ description: "Enhanced status code.", example: "2.0.0" }),
  response: z
    .string()
    .max(4096)
    .optional()
    .meta({ description: "The remote server's reply or the MTA's reason.", example: "250 2.0.0 OK" }),
  delay_s: z.number().nonnegative().optional().meta({ description: "Seconds since the message entered the queue.", example: 1.2 }),
  size: z.number().int().nonnegative().optional().meta({ description: "Message size in bytes.", example: 2048 }),
  nrcpt: z.number().int().nonnegative().optional().meta({ description: "Number of recipients of the message.", example: 1 }),
  client_ip: z
    .string()
    .max(64)
    .optional()
    .meta({ description: "IP of the SMTP client that submitted the message.", example: "192.0.2.10" }),
  bounce_class: BounceClass.optional(),
  attempt: z.number().int().nonnegative().optional().meta({ description: "Delivery attempt number for this recipient.", example: 1 }),
  notice: z
    .strictObject({
      kind: z
        .enum(["bounce", "delay", "success"])
        .meta({ description: "Non-delivery report, delay warning, or delivery status (DSN SUCCESS).", example: "bounce" }),
      of_queue_id: z
        .string()
        .max(64)
        .optional()
        .meta({ description: "queue_id of the message the notice is about.", example: "4BCD21C03F2" }),
      of_message_id: z
        .string()
        .max(998)
        .optional()
        .meta({ description: "message_id of the message the notice is about, when known.", example: "20261123130709.4BCD2@example.com" }),
    })
    .optional()
    .meta({
      description:
        "Set on mail the MTA generated itself as a notification about another message (a bounce, delay or success notice to its sender).",
      example: { kind: "bounce", of_queue_id: "4BCD21C03F2", of_message_id: "20261123130709.4BCD2@example.com" },
    }),
};

const clientFields = {
  user_agent: z.string().max(1024).optional().meta({ description: "User agent of the client.", example: "Mozilla/5.0" }),
  ip: z.string().max(64).optional().meta({ description: "IP address of the client.", example: "198.51.100.7" }),
};

// Opens, clicks and unsubscribes, from hookd's tracking listener or an application.
const engagementFields = {
  rcpt_to: Email.optional().meta({
    description:
      "Recipient who engaged; absent when one tracked copy went to several recipients (its links name the message, not a recipient).",
    example: "alice@example.org",
  }),
  ...clientFields,
  first: z.boolean().optional().meta({ description: "The first event of this type for this message and recipient.", example: true }),
  machine: z.boolean().optional().meta({
    description: "Made by a machine, not a reader: a prefetch, an image proxy, a link scanner or a click too fast for a person.",
    example: false,
  }),
  machine_reason: z
    .string()
    .regex(/^[a-z0-9_]{1,64}$/, "expected a lower-case rule name like fast_click")
    .optional()
    .meta({ description: "Which rule marked it as a machine's (present only with machine: true).", example: "apple_privacy_proxy" }),
};

function mailEvent<T extends (typeof MAIL_EVENT_TYPES)[number]>(type: T, description: string) {
  return z.strictObject({ type: z.literal(type), ...common, ...mailFields }).meta({ id: `event_${type}`, description });
}

export const InjectionEvent = mailEvent("injection", "The MTA accepted a message for a recipient.");
export const DeliveryEvent = mailEvent("delivery", "The next hop accepted the message for a recipient.");
export const DelayEvent = mailEvent("delay", "A delivery attempt failed temporarily; the MTA will retry.");
export const BounceEvent = mailEvent("bounce", "Delivery to a recipient failed permanently.");
export const ExpiredEvent = mailEvent("expired", "The MTA gave up after its retry period.");
export const PolicyRejectionEvent = mailEvent("policy_rejection", "The MTA refused the message or recipient at SMTP time.");
export const OutOfBandEvent = mailEvent(
  "out_of_band",
  "A remote server accepted the message, then reported by mail (a DSN or a bounce notice) that delivery to the recipient failed.",
);

export const OpenEvent = z
  .strictObject({ type: z.literal("open"), ...common, ...engagementFields })
  .meta({ id: "event_open", description: "A recipient opened the message." });
export const ClickEvent = z
  .strictObject({
    type: z.literal("click"),
    ...common,
    ...engagementFields,
    url: z
      .url({ protocol: /^https?$/ })
      .max(8192)
      .meta({ description: "The link clicked.", example: "https://example.com/offer" }),
  })
  .meta({ id: "event_click", description: "A recipient clicked a link." });
export const ListUnsubscribeEvent = z
  .strictObject({ type: z.literal("list_unsubscribe"), ...common, ...engagementFields })
  .meta({ id: "event_list_unsubscribe", description: "A recipient unsubscribed." });
export const SpamComplaintEvent = z
  .strictObject({
    type: z.literal("spam_complaint"),
    ...common,
    rcpt_to: Email.meta({ description: "Recipient who complained.", example: "alice@example.org" }),
    ...clientFields,
    feedback_type: z.string().max(64).optional().meta({ description: "ARF feedback type.", example: "abuse" }),
  })
  .meta({ id: "event_spam_complaint", description: "A recipient reported the message as spam." });
export const CustomEvent = z
  .strictObject({
    type: z.literal("custom"),
    ...common,
    rcpt_to: Email.optional().meta({ description: "Recipient the event is about, if any.", example: "alice@example.org" }),
    custom_type: z
      .string()
      .regex(/^[a-z][a-z0-9_.-]{0,63}$/, "expected a lower-case name like profile.updated")
      .meta({ description: "The application's own event name.", example: "profile.updated" }),
    data: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: "Free-form payload.", example: { field: "city" } }),
  })
  .meta({ id: "event_custom", description: "An application-defined event." });

export const EVENT_SCHEMAS = {
  injection: InjectionEvent,
  delivery: DeliveryEvent,
  delay: DelayEvent,
  bounce: BounceEvent,
  expired: ExpiredEvent,
  policy_rejection: PolicyRejectionEvent,
  out_of_band: OutOfBandEvent,
  open: OpenEvent,
  click: ClickEvent,
  list_unsubscribe: ListUnsubscribeEvent,
  spam_complaint: SpamComplaintEvent,
  custom: CustomEvent,
} as const satisfies Record<EventType, z.ZodType>;

/** An event as a client or parser hands it in: ids, timestamp and host may still be missing. */
export const EventInput = z.discriminatedUnion("type", [
  InjectionEvent,
  DeliveryEvent,
  DelayEvent,
  BounceEvent,
  ExpiredEvent,
  PolicyRejectionEvent,
  OutOfBandEvent,
  OpenEvent,
  ClickEvent,
  ListUnsubscribeEvent,
  SpamComplaintEvent,
  CustomEvent,
]);
export type EventInput = z.infer<typeof EventInput>;

/** An event as stored and sent: every event has its id, UTC timestamp and host. */
export type Event = EventInput & { event_id: string; timestamp: string; host: string };

export function isEventType(s: string): s is EventType {
  return (EVENT_TYPES as readonly string[]).includes(s);
}
