import type { Event, MAIL_EVENT_TYPES } from "../events/schema.ts";
import { classifyReply } from "../events/bounce-class.ts";
import { eventId } from "./event-id.ts";
import type { Notice } from "./message-state.ts";
import { isEmail } from "./parse/fields.ts";

export type MailEventType = (typeof MAIL_EVENT_TYPES)[number];
export type MailEvent = Extract<Event, { type: MailEventType }>;

/** Everything an ingest event may carry, before it is trimmed to what EventInput accepts. */
export interface EventDraft {
  type: MailEventType;
  ts: number;
  host: string;
  scope: string;
  queueId?: string;
  messageId?: string;
  mailFrom?: string;
  rcpt?: string;
  orig?: string;
  relay?: string;
  dsn?: string;
  response?: string;
  delay?: number;
  size?: number;
  nrcpt?: number;
  clientIp?: string;
  attempt?: number;
  notice?: Notice;
}

const CLASSIFIED = new Set<MailEventType>(["bounce", "delay", "expired", "policy_rejection"]);

/**
 * Builds the event in the key order it is stored and sent in. Values EventInput would refuse
 * (a local part where an address belongs, an over-long reply) are dropped or cut rather than
 * losing the whole event.
 */
export function toEvent(d: EventDraft): MailEvent {
  const timestamp = isoTime(d.ts);
  const rcpt = isEmail(d.rcpt) ? d.rcpt : undefined;
  const orig = isEmail(d.orig) && d.orig !== rcpt ? d.orig : undefined;
  const e: MailEvent = {
    event_id: eventId({
      type: d.type,
      host: d.host,
      scope: d.scope,
      queueId: d.queueId,
      rcpt: d.rcpt,
      timestamp,
      ms: d.ts,
      attempt: d.attempt,
      extra: d.queueId === undefined ? `${d.clientIp ?? ""}|${d.mailFrom ?? ""}|${d.response ?? ""}` : undefined,
    }),
    type: d.type,
    timestamp,
    host: cut(d.host, 255) || "localhost",
  };
  if (d.queueId !== undefined && d.queueId.length <= 64) e.queue_id = d.queueId;
  if (d.messageId !== undefined) e.message_id = d.messageId;
  if (d.mailFrom !== undefined && d.mailFrom.length <= 320) e.mail_from = d.mailFrom;
  if (rcpt !== undefined) e.rcpt_to = rcpt;
  if (orig !== undefined) e.orig_rcpt = orig;
  if (d.relay !== undefined) e.relay = cut(d.relay, 512);
  if (d.dsn !== undefined) e.dsn = d.dsn;
  if (d.response !== undefined) e.response = cut(d.response, 4096);
  if (d.delay !== undefined) e.delay_s = d.delay;
  if (d.size !== undefined) e.size = d.size;
  if (d.nrcpt !== undefined) e.nrcpt = d.nrcpt;
  if (d.clientIp !== undefined && d.clientIp.length <= 64) e.client_ip = d.clientIp;
  if (CLASSIFIED.has(d.type) && (d.dsn !== undefined || d.response !== undefined)) {
    e.bounce_class = classifyReply(d.dsn, d.response);
  }
  if (d.attempt !== undefined) e.attempt = d.attempt;
  if (d.notice !== undefined) e.notice = d.notice;
  return e;
}

// Events come in runs with the same timestamp (a line's injection and outcome, one second's
// lines): formatting it once per run is measurable at a million lines.
let lastTs = Number.NaN;
let lastIso = "";

function isoTime(ts: number): string {
  if (ts !== lastTs) {
    lastIso = new Date(ts).toISOString();
    lastTs = ts;
  }
  return lastIso;
}

function cut(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max);
}
