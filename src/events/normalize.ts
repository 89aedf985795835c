import { ulid } from "ulid";
import { classifyBounce } from "./bounce-class.ts";
import type { BounceClass, Event, EventInput, EventType } from "./schema.ts";

export type NormalizeDefaults = { host: string; now: number };

// The failures that carry a bounce_class, as events from the MTA log get one.
const CLASSIFIED: ReadonlySet<EventType> = new Set(["bounce", "delay", "expired", "policy_rejection", "out_of_band"]);

/**
 * Fills what a stored event must have (id, UTC timestamp, host) and fixes the key order, so
 * the JSON written once at ingest is the exact text receivers get and hashes stay stable.
 * A failure posted with its dsn or response but no bounce_class is classified as a logged
 * one would be, so receivers (and SendGrid's bounce_classification) learn why it failed.
 */
export function normalizeEvent(input: EventInput, d: NormalizeDefaults): Event {
  const { event_id, type, timestamp, host, ...rest } = input;
  const event = {
    event_id: event_id ?? ulid(d.now),
    type,
    timestamp: new Date(timestamp ? Date.parse(timestamp) : d.now).toISOString(),
    host: host ?? d.host,
    ...rest,
  } as Event;
  const bounceClass = missingBounceClass(event);
  return bounceClass ? ({ ...event, bounce_class: bounceClass } as Event) : event;
}

function missingBounceClass(e: Event): BounceClass | null {
  if (!CLASSIFIED.has(e.type)) return null;
  const f = e as { dsn?: string; response?: string; bounce_class?: BounceClass };
  if (f.bounce_class !== undefined || (f.dsn === undefined && f.response === undefined)) return null;
  return classifyBounce({ dsn: f.dsn, text: f.response });
}
