import { EventInput } from "../events/schema.ts";
import { classifyBounce } from "../events/bounce-class.ts";
import { eventId } from "../ingest/event-id.ts";
import { type MatchResult, type OriginalMessage, originalFor } from "./match.ts";
import type { ComplaintReport, DsnReport, FeedbackReport, PlainBounceReport, UnsubscribeReport } from "./types.ts";

// A report and its match → hookd events. Ids come from the report alone (its key, the
// recipient as the report names it, the event type), never from the match or the clock: the
// same report delivered twice gives the same ids even if the store learnt more in between.

export interface EventContext {
  /** The hookd host label put on events whose original message is not known. */
  host: string;
  /** When the report arrived (ms); the event time when the report has no date. */
  receivedAt: number;
}

/**
 * ARF feedback types → the event they give; types not listed give spam_complaint. not-spam
 * and auth-failure (RFC 6591 DMARC/SPF failure reports) are no complaint by a recipient.
 */
export const FEEDBACK_TYPE_EVENTS: Readonly<Record<string, "spam_complaint" | "list_unsubscribe" | null>> = {
  abuse: "spam_complaint",
  fraud: "spam_complaint",
  virus: "spam_complaint",
  other: "spam_complaint",
  "opt-out": "list_unsubscribe",
  unsubscribe: "list_unsubscribe",
  "not-spam": null,
  "auth-failure": null,
  dmarc: null,
};

const MAX_EVENTS = 1000;

export function feedbackEvents(report: FeedbackReport, match: MatchResult, ctx: EventContext): EventInput[] {
  const events = (() => {
    switch (report.kind) {
      case "dsn":
        return match.own ? [] : dsnEvents(report, match, ctx);
      case "plain_bounce":
        return plainEvents(report, match, ctx);
      case "complaint":
        return complaintEvents(report, match, ctx);
      case "unsubscribe":
        return unsubscribeEvents(report, match, ctx);
      case "not_a_report":
        return [];
    }
  })();
  return events.slice(0, MAX_EVENTS).flatMap((e) => valid(e));
}

type Draft = Record<string, unknown> & { type: EventInput["type"] };

function dsnEvents(r: DsnReport, match: MatchResult, ctx: EventContext): Draft[] {
  const sole = r.recipients.length === 1;
  return r.recipients.flatMap((x) => {
    const type = x.action === "failed" ? "out_of_band" : x.action === "delayed" ? "delay" : undefined;
    if (!type) return [];
    const orig = originalFor(match, [x.originalRecipient, x.finalRecipient], sole);
    const e = base(
      type,
      r,
      ctx,
      orig,
      `${x.finalRecipient ?? ""}|${x.originalRecipient ?? ""}|${x.action}`,
      x.lastAttemptDate ?? r.report.date ?? r.arrivalDate,
    );
    put(e, "message_id", orig?.message_id ?? r.original?.messageId);
    put(e, "rcpt_to", orig?.rcpt_to ?? x.originalRecipient ?? x.finalRecipient);
    put(e, "relay", x.remoteMta);
    put(e, "dsn", x.status);
    put(e, "response", x.diagnostic?.slice(0, 4096));
    if (x.status !== undefined || x.diagnostic !== undefined) e.bounce_class = classifyBounce({ dsn: x.status, text: x.diagnostic });
    return [e];
  });
}

function plainEvents(r: PlainBounceReport, match: MatchResult, ctx: EventContext): Draft[] {
  const sole = r.recipients.length === 1;
  return r.recipients.map((x) => {
    const orig = originalFor(match, [x.rcpt], sole);
    const e = base(x.action === "delayed" ? "delay" : "out_of_band", r, ctx, orig, `${x.rcpt}|${x.action}`, r.report.date);
    put(e, "message_id", orig?.message_id ?? r.original?.messageId);
    put(e, "rcpt_to", orig?.rcpt_to ?? x.rcpt);
    put(e, "dsn", x.dsn);
    put(e, "response", x.reason);
    e.bounce_class = x.bounceClass;
    return e;
  });
}

function complaintEvents(r: ComplaintReport, match: MatchResult, ctx: EventContext): Draft[] {
  const type = Object.hasOwn(FEEDBACK_TYPE_EVENTS, r.feedbackType) ? FEEDBACK_TYPE_EVENTS[r.feedbackType] : "spam_complaint";
  if (!type) return [];
  // Who complained: the token's recipient, else each Original-Rcpt-To, else the only recipient
  // the store knows for the message, else the returned To when it names exactly one address.
  const tokened = match.via === "verp" && match.candidates.length === 1 ? match.candidates[0]!.rcpt_to : undefined;
  const single = match.candidates.length === 1 ? match.candidates[0]!.rcpt_to : undefined;
  const named = tokened
    ? [tokened]
    : r.originalRcptTo.length > 0
      ? r.originalRcptTo
      : single
        ? [single]
        : r.original?.to.length === 1
          ? r.original.to
          : [];
  return named.map((rcpt) => {
    const orig = originalFor(match, [rcpt], named.length === 1);
    const e = base(type, r, ctx, orig, rcpt, r.report.date ?? r.arrivalDate);
    put(e, "message_id", orig?.message_id ?? r.original?.messageId);
    e.rcpt_to = orig?.rcpt_to ?? rcpt;
    if (type === "spam_complaint") e.feedback_type = r.feedbackType;
    return e;
  });
}

function unsubscribeEvents(r: UnsubscribeReport, match: MatchResult, ctx: EventContext): Draft[] {
  const orig = match.via === "unsubscribe_token" ? match.candidates[0] : undefined;
  if (!orig?.rcpt_to) return [];
  const e = base("list_unsubscribe", r, ctx, orig, r.token, r.report.date);
  // One event per token, as the one-click path does: a reader who writes twice (or whose
  // client sends again) unsubscribed once. Tokens are case-insensitive: folded first.
  e.event_id = eventId({ type: "list_unsubscribe", host: "", scope: "feedback", rcpt: r.token.toLowerCase(), timestamp: "", ms: 0 });
  put(e, "message_id", orig.message_id);
  e.rcpt_to = orig.rcpt_to;
  return [e];
}

/**
 * id, type, time, host and the original message's fields, in the order events are stored. The
 * host is the original's label when it is known: a webhook filtered on host "mx1" gets the
 * bounces of mx1's mail, wherever the report was delivered.
 */
function base(
  type: Draft["type"],
  r: FeedbackReport,
  ctx: EventContext,
  orig: OriginalMessage | undefined,
  who: string,
  at: string | undefined,
): Draft {
  const e: Draft = {
    event_id: eventId({ type, host: "", scope: "feedback", rcpt: who, timestamp: r.report.date ?? "", extra: r.report.key }),
    type,
    timestamp: at ?? new Date(ctx.receivedAt).toISOString(),
    host: orig?.host ?? ctx.host,
  };
  put(e, "queue_id", orig?.queue_id);
  put(e, "mail_from", orig?.mail_from);
  put(e, "campaign_id", orig?.campaign_id);
  put(e, "tags", orig?.tags);
  put(e, "metadata", orig?.metadata);
  return e;
}

function put(e: Draft, key: string, value: unknown): void {
  if (value !== undefined && value !== "") e[key] = value;
}

/**
 * The event as the schema accepts it. A field the schema refuses (an address a remote MTA
 * mangled, an over-long id) is dropped rather than losing the event; an event still refused
 * without its optional fields is dropped.
 */
function valid(e: Draft): EventInput[] {
  const first = EventInput.safeParse(e);
  if (first.success) return [first.data];
  const trimmed: Draft = { ...e };
  for (const issue of first.error.issues) {
    const key = issue.path[0];
    if (typeof key === "string" && !["type", "event_id", "timestamp", "host"].includes(key)) delete trimmed[key];
  }
  const second = EventInput.safeParse(trimmed);
  return second.success ? [second.data] : [];
}
