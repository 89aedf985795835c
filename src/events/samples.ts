import type { z } from "zod";
import { EVENT_SCHEMAS, isEventType, type Event, type EventType } from "./schema.ts";

// Sample events are generated from the schemas' own examples, so the catalog, the test POST
// at webhook create and the docs never disagree with what validation accepts.

type Def = { type: string; innerType?: z.ZodType; values?: unknown[] };

export function exampleOf(schema: z.ZodType): unknown {
  const meta = schema.meta() as { example?: unknown } | undefined;
  if (meta?.example !== undefined) return meta.example;
  const def = (schema as unknown as { _zod: { def: Def } })._zod.def;
  if (def.type === "literal") return def.values?.[0];
  if (def.innerType) return exampleOf(def.innerType);
  return undefined;
}

// Which fields a sample of each type shows, and the values that differ from the field
// examples (a bounce's dsn is not a delivery's).
const SAMPLE_FIELDS: Record<EventType, { fields: string[]; values?: Record<string, unknown> }> = {
  injection: { fields: ["queue_id", "message_id", "mail_from", "rcpt_to", "size", "nrcpt", "client_ip"] },
  delivery: { fields: ["queue_id", "message_id", "mail_from", "rcpt_to", "relay", "dsn", "response", "delay_s", "size", "attempt"] },
  delay: {
    fields: ["queue_id", "message_id", "mail_from", "rcpt_to", "relay", "dsn", "response", "delay_s", "attempt"],
    values: { dsn: "4.2.0", response: "451 4.2.0 Mailbox busy, try again later", delay_s: 301.5 },
  },
  bounce: {
    fields: ["queue_id", "message_id", "mail_from", "rcpt_to", "relay", "dsn", "response", "delay_s", "bounce_class"],
    values: { dsn: "5.1.1", response: "550 5.1.1 <alice@example.org>: Recipient address rejected: User unknown" },
  },
  expired: {
    fields: ["queue_id", "message_id", "mail_from", "rcpt_to", "dsn", "response", "delay_s", "bounce_class"],
    values: { dsn: "4.4.7", response: "message expired after 5 days in the queue", delay_s: 432000, bounce_class: "soft" },
  },
  policy_rejection: {
    fields: ["mail_from", "rcpt_to", "client_ip", "dsn", "response", "bounce_class"],
    values: { dsn: "5.7.1", response: "554 5.7.1 Service unavailable; Client host [192.0.2.10] blocked", bounce_class: "block" },
  },
  out_of_band: {
    fields: ["queue_id", "message_id", "mail_from", "rcpt_to", "relay", "dsn", "response", "bounce_class", "campaign_id"],
    values: {
      dsn: "5.1.1",
      response: "550 5.1.1 <alice@example.org>: Recipient address rejected: User unknown",
      bounce_class: "unknown_user",
    },
  },
  open: { fields: ["message_id", "rcpt_to", "user_agent", "ip", "campaign_id"] },
  click: { fields: ["message_id", "rcpt_to", "url", "user_agent", "ip", "campaign_id"] },
  list_unsubscribe: { fields: ["message_id", "rcpt_to", "campaign_id"] },
  spam_complaint: { fields: ["message_id", "rcpt_to", "feedback_type"] },
  // A profile change as Copernica reports one, so the copernica format's sample is realistic too.
  custom: {
    fields: ["custom_type", "rcpt_to", "data"],
    values: { data: { profile: 123, database: 1, fields: { name: "Alice", city: "Oslo" } } },
  },
};

export function sampleEvent(type: EventType, opts: { host: string; now: number; index?: number }): Event {
  const shape = (EVENT_SCHEMAS[type] as unknown as z.ZodObject).shape as Record<string, z.ZodType>;
  const spec = SAMPLE_FIELDS[type];
  const event: Record<string, unknown> = {
    event_id: `sample-${type}-${opts.index ?? 0}`,
    type,
    timestamp: new Date(opts.now).toISOString(),
    host: opts.host,
  };
  for (const f of spec.fields) {
    const v = spec.values?.[f] ?? (shape[f] ? exampleOf(shape[f]) : undefined);
    if (v !== undefined) event[f] = v;
  }
  return event as Event;
}

/**
 * A sample of what a webhook's `events` entry subscribes to: a hookd type, or a custom
 * event's own name (a custom event of that name).
 */
export function sampleFor(entry: string, opts: { host: string; now: number; index?: number }): Event {
  if (isEventType(entry)) return sampleEvent(entry, opts);
  return { ...sampleEvent("custom", opts), custom_type: entry } as Event;
}
