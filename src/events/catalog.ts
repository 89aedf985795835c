import type { z } from "zod";
import { ENGAGEMENT_EVENT_TYPES, EVENT_SCHEMAS, MAIL_EVENT_TYPES, type EventType } from "./schema.ts";
import { exampleOf, sampleEvent } from "./samples.ts";

// The event catalog, generated from the zod schemas (descriptions and examples live there),
// in the shape of SparkPost's GET /webhooks/events/documentation so its clients read it.

type FieldDoc = { description: string; sampleValue: unknown; required?: boolean };
type EventDoc = { display_name: string; description: string; event: Record<string, FieldDoc> };
type ClassDoc = { display_name: string; description: string; events: Record<string, EventDoc> };

type Meta = { description?: string; id?: string };

function metaOf(schema: z.ZodType): Meta {
  return (schema.meta() as Meta | undefined) ?? {};
}

function unwrap(schema: z.ZodType): { inner: z.ZodType; optional: boolean } {
  let s = schema;
  let optional = false;
  for (;;) {
    const def = (s as unknown as { _zod: { def: { type: string; innerType?: z.ZodType } } })._zod.def;
    if ((def.type === "optional" || def.type === "default" || def.type === "nullable") && def.innerType) {
      optional = true;
      s = def.innerType;
    } else return { inner: s, optional };
  }
}

const COMMON_DESCRIPTIONS: Record<string, string> = {
  type: "Event type.",
  event_id: "Stable id of the event; receivers dedupe on it.",
  timestamp: "When it happened (RFC 3339, UTC).",
  host: "Mail host the event came from.",
};

function displayName(type: string): string {
  return type.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
}

export function documentEvent(type: EventType): EventDoc {
  const schema = EVENT_SCHEMAS[type] as unknown as z.ZodObject;
  const sample = sampleEvent(type, { host: "mx1", now: Date.UTC(2026, 10, 23, 13, 7, 9) }) as Record<string, unknown>;
  const fields: Record<string, FieldDoc> = {};
  for (const [name, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const { inner, optional } = unwrap(field);
    const description = metaOf(field).description ?? metaOf(inner).description ?? COMMON_DESCRIPTIONS[name] ?? name;
    const sampleValue = sample[name] ?? exampleOf(field);
    // Stored events always have these, even when a client may leave them out of POST /events.
    const alwaysPresent = name === "event_id" || name === "timestamp" || name === "host" || name === "type";
    fields[name] = { description, sampleValue, ...(alwaysPresent || !optional ? { required: true } : {}) };
  }
  return { display_name: displayName(type), description: metaOf(schema).description ?? "", event: fields };
}

export function eventCatalog(customTypes: readonly string[] = []) {
  const group = (types: readonly EventType[]) => Object.fromEntries(types.map((t) => [t, documentEvent(t)]));
  const custom = documentEvent("custom");
  const catalog: Record<string, ClassDoc> = {
    mail_event: {
      display_name: "Mail events",
      description: "What the MTA did with each message and recipient, from its logs (or POST /events).",
      events: group(MAIL_EVENT_TYPES),
    },
    engagement_event: {
      display_name: "Engagement events",
      description: "What recipients did, reported by the application through POST /events.",
      events: group(ENGAGEMENT_EVENT_TYPES),
    },
    custom_event: {
      display_name: "Custom events",
      description:
        'Application-defined events (type custom, named by custom_type). A webhook subscribes to all of them with "custom", or to one by its name. Known names: ' +
        (customTypes.length ? customTypes.join(", ") : "none yet") +
        ".",
      events: { custom },
    },
  };
  return catalog;
}
