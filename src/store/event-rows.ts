import type { Event } from "../events/schema.ts";

/**
 * Events as the store writes them: ROW_WIDTH columns each, flattened (event_id, type, ts,
 * host, queue_id, message_id, mail_from, rcpt_to, custom_type, notice kind), and the JSON body. Built where events are
 * made — for a log, on the parse thread — so the committing thread only binds values, and a
 * chunk crosses threads as flat arrays of strings and numbers rather than objects. Pure: every
 * driver takes rows in this shape.
 */
export type EventRows = { cols: (string | number | null)[]; bodies: string[] };
export const ROW_WIDTH = 10;

export function eventRows(events: readonly Event[], into: EventRows = { cols: [], bodies: [] }): EventRows {
  for (const e of events) {
    const mail = e as { queue_id?: string; message_id?: string; mail_from?: string; rcpt_to?: string; notice?: { kind: string } };
    const customType = e.type === "custom" ? e.custom_type : null;
    into.cols.push(
      e.event_id,
      e.type,
      Date.parse(e.timestamp),
      e.host,
      mail.queue_id ?? null,
      mail.message_id ?? null,
      mail.mail_from ?? null,
      mail.rcpt_to ?? null,
      customType,
      mail.notice?.kind ?? null,
    );
    into.bodies.push(JSON.stringify(e));
  }
  return into;
}

/** The custom event names among `events`, for EventStore.insert. */
export function customTypesOf(events: readonly Event[]): string[] {
  const names: string[] = [];
  for (const e of events) if (e.type === "custom") names.push(e.custom_type);
  return names;
}
