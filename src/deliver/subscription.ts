import { isEventType, type EventType } from "../events/schema.ts";
import type { WebhookFilter, WebhookRow } from "../store/driver.ts";
import type { WebhookFormat } from "../webhooks/model.ts";
import { formatCarries, ONE_EVENT_PER_REQUEST } from "./formats/index.ts";
import { SFMC_MAX_EVENTS } from "./formats/sfmc.ts";

// What a webhook gets and how it is cut: its events filter over the columns the batcher's
// light pass reads, and its batch limits. Pure; the batcher and replay both use it.

export type BatchLimits = { maxEvents: number; maxBytes: number; maxWaitMs: number };

// Batches are sized by hookd's own JSON; SparkPost's wrapped form is about 1.26× larger, so
// its budget shrinks to keep the body sent under batch_max_bytes. ENS's nesting is about as
// large for the smallest events (opens).
const FORMAT_GROWTH: Record<WebhookFormat, number> = { hookd: 1, sendgrid: 1, sparkpost: 1.3, sfmc: 1.3, copernica: 1 };

// Events per request a format allows whatever batch_max_events says: Copernica posts one event
// per request (so every event is its own batch, in order, each retried on its own); ENS
// callbacks take at most 1,000.
function formatMaxEvents(format: WebhookFormat): number {
  if (ONE_EVENT_PER_REQUEST.has(format)) return 1;
  return format === "sfmc" ? SFMC_MAX_EVENTS : Infinity;
}

/** A webhook's own batch_* overrides over the configured defaults. */
export function batchLimits(
  w: Pick<WebhookRow, "batchMaxEvents" | "batchMaxBytes" | "batchMaxWait" | "format">,
  d: { batch_max_events: number; batch_max_bytes: number; batch_max_wait: number },
): BatchLimits {
  return {
    maxEvents: Math.min(w.batchMaxEvents ?? d.batch_max_events, formatMaxEvents(w.format)),
    maxBytes: Math.floor((w.batchMaxBytes ?? d.batch_max_bytes) / FORMAT_GROWTH[w.format]),
    maxWaitMs: w.batchMaxWait ?? d.batch_max_wait,
  };
}

/** The columns of an event row that decide whether a webhook gets it. */
export type Row = {
  seq: number;
  type: string;
  host: string;
  mail_from: string | null;
  rcpt_to: string | null;
  custom_type: string | null;
  notice: string | null;
  received_at: number;
  body: string;
};

function domainOf(address: string | null): string | null {
  if (!address) return null;
  const at = address.lastIndexOf("@");
  return at < 0 ? null : address.slice(at + 1).toLowerCase();
}

// `filter: {machine: false}` leaves out engagement events marked machine: true. Only a
// webhook with that filter pays for it: its light pass asks the store for the flag of the
// engagement rows (DeliveryStore.scan's `machine`); everyone else's scan is unchanged. Rows
// read with their body (the second pass, replay) take the flag from the body.
const MACHINE_TYPES = new Set(["open", "click", "list_unsubscribe"]);
type MachineFlag = { machine?: unknown; body?: string };

function isMachine(r: { type: string } & MachineFlag): boolean {
  if (!MACHINE_TYPES.has(r.type)) return false;
  if (r.machine !== undefined) return r.machine === 1 || r.machine === true;
  return r.body !== undefined && (JSON.parse(r.body) as { machine?: unknown }).machine === true;
}

export function compileFilter(
  types: readonly string[],
  filter: WebhookFilter | null,
  format: WebhookFormat = "hookd",
): (r: Pick<Row, "type" | "host" | "mail_from" | "rcpt_to" | "custom_type" | "notice"> & MachineFlag) => boolean {
  const all = types.includes("*");
  // A provider format without a counterpart for a type (SendGrid has no custom events) would
  // only send empty arrays for it.
  const carried = (type: string, customType: string | null) => formatCarries(format, type as EventType, customType);
  const typeSet = new Set(types);
  // Custom events subscribed by name ("profile.created"); "custom" is every name.
  const customNames = new Set(types.filter((t) => t !== "*" && !isEventType(t)));
  const senders = filter?.sender_domains?.length ? new Set(filter.sender_domains.map((d) => d.toLowerCase())) : null;
  const rcpts = filter?.rcpt_domains?.length ? new Set(filter.rcpt_domains.map((d) => d.toLowerCase())) : null;
  const hosts = filter?.hosts?.length ? new Set(filter.hosts) : null;
  const noMachine = filter?.machine === false;
  // Providers send no notices (mail the MTA generated about another message): their formats
  // leave them out, as does hookd's with filter.notices false.
  const notices = format === "hookd" && filter?.notices !== false;
  return (r) =>
    (all || typeSet.has(r.type) || (r.custom_type !== null && customNames.has(r.custom_type))) &&
    carried(r.type, r.custom_type) &&
    (notices || r.notice === null) &&
    (!senders || senders.has(domainOf(r.mail_from) ?? "")) &&
    (!rcpts || rcpts.has(domainOf(r.rcpt_to) ?? "")) &&
    (!hosts || hosts.has(r.host)) &&
    (!noMachine || !isMachine(r));
}
