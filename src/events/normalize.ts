import { ulid } from "ulid";
import type { Event, EventInput } from "./schema.ts";

export type NormalizeDefaults = { host: string; now: number };

/**
 * Fills what a stored event must have (id, UTC timestamp, host) and fixes the key order, so
 * the JSON written once at ingest is the exact text receivers get and hashes stay stable.
 */
export function normalizeEvent(input: EventInput, d: NormalizeDefaults): Event {
  const { event_id, type, timestamp, host, ...rest } = input;
  return {
    event_id: event_id ?? ulid(d.now),
    type,
    timestamp: new Date(timestamp ? Date.parse(timestamp) : d.now).toISOString(),
    host: host ?? d.host,
    ...rest,
  } as Event;
}
