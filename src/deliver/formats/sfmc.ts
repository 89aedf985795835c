// Format "sfmc": Salesforce Marketing Cloud's Event Notification Service (ENS) body, a JSON
// array of events with SFMC's names and nesting, signed in x-sfmc-ens-signature.
// Sources (Salesforce's developer guide, "Event Notification Service"):
//   ens-supported-events, transactional_email_events, engagement_email_events — the event
//   types, the common attributes and each type's `info` attributes and payload examples;
//   ens-notification-signing — the signature; createCallback / regenerateSignatureKey — the
//   key as SFMC hands it out ("V27FXfqI3DnhfQW1bhFDeJixpt8eDAY5R24UJI3cK6M=": 32 bytes, base64).
// The tables below are the whole mapping; docs print them, tests hold the code to them.
import { createHmac, randomBytes } from "node:crypto";
import type { BounceClass, Event, EventType } from "../../events/schema.ts";
import type { EventFields } from "./fields.ts";

/** hookd `type` → ENS eventCategoryType; null: ENS has no such event and it is not sent. */
export const SFMC_EVENTS = {
  // ENS reports a message once it went out to the recipient's provider (EmailSent); hookd's
  // delivery is that moment. The MTA accepting it (injection) has no ENS event, and neither
  // has a deferral: SFMC retries silently.
  injection: null,
  delivery: "TransactionalSendEvents.EmailSent",
  delay: null,
  bounce: "TransactionalSendEvents.EmailBounced",
  // A message given up on after retries is a soft bounce to SFMC.
  expired: "TransactionalSendEvents.EmailBounced",
  // Refused before it was sent: "the email was not sent and includes the reason".
  policy_rejection: "TransactionalSendEvents.EmailNotSent",
  out_of_band: "TransactionalSendEvents.EmailBounced",
  open: "EngagementEvents.EmailOpen",
  click: "EngagementEvents.EmailClick",
  list_unsubscribe: "EngagementEvents.EmailUnsubscribe",
  // ENS has no complaint event.
  spam_complaint: null,
  custom: null,
} as const satisfies Record<EventType, string | null>;

/**
 * Bounce classes ENS reports with bounceCode "HARD" (the address itself failed: the receiver
 * suppresses it); every other bounce, any bounce with a 4.x.x status and every expired
 * message is "SOFT". ENS documents only these two values.
 */
export const SFMC_HARD_BOUNCES: readonly BounceClass[] = ["hard", "unknown_user", "unknown_domain", "undetermined"];

/** Every hookd field and where it goes (dotted: inside an object); `sfmc: null`: not sent. */
export const SFMC_FIELDS = [
  { hookd: "notice", sfmc: null, note: "notices are not sent: ENS reports none for the notices an MTA generates" },
  { hookd: "type", sfmc: "eventCategoryType", note: "see SFMC_EVENTS" },
  { hookd: "timestamp", sfmc: "timestampUTC", note: "epoch milliseconds, a number" },
  { hookd: "event_id", sfmc: "compositeId", note: "SFMC's own tracking id has no counterpart; the event id is as unique and as stable" },
  {
    hookd: "message_id",
    sfmc: "composite.jobId",
    note: "queue_id when message_id is missing; with subscriberId it joins sent and engagement events as SFMC's guide does",
  },
  { hookd: "rcpt_to", sfmc: "composite.subscriberId", note: "" },
  { hookd: "rcpt_to", sfmc: "info.to", note: "transactional events and unsubscribes" },
  { hookd: "rcpt_to", sfmc: "info.subscriberKey", note: "transactional events; metadata.subscriberKey when given" },
  { hookd: "rcpt_to", sfmc: "info.domain", note: "unsubscribes: its domain" },
  {
    hookd: "message_id",
    sfmc: "info.messageKey",
    note: "transactional events; metadata.messageKey when given, queue_id when message_id is missing",
  },
  {
    hookd: "metadata",
    sfmc: "info.messageKey",
    note: "metadata.messageKey: the key the application gave SFMC's transactional API, kept across the move",
  },
  {
    hookd: "campaign_id",
    sfmc: "definitionKey",
    note: 'transactional events (the send definition); engagement events carry "NA" as ENS sends them',
  },
  { hookd: "response", sfmc: "info.bounceMessage", note: "bounces" },
  { hookd: "response", sfmc: "info.reason", note: "not sent (policy_rejection)" },
  { hookd: "response", sfmc: "info.statusCode", note: 'not sent: its SMTP reply code, e.g. "554"' },
  { hookd: "dsn", sfmc: "info.smtpReason", note: 'bounces: the enhanced status, e.g. "5.1.1"' },
  { hookd: "bounce_class", sfmc: "info.bounceCode", note: '"HARD" or "SOFT", see SFMC_HARD_BOUNCES' },
  { hookd: "ip", sfmc: "info.ipAddress", note: "opens and clicks" },
  { hookd: "user_agent", sfmc: "info.userAgent", note: "opens and clicks" },
  { hookd: "url", sfmc: "info.contentLink", note: "clicks" },
  {
    hookd: "user_agent",
    sfmc: "info.unsubscribeMethod",
    note: 'unsubscribes: "Click" when a client made it (it has an IP or user agent), "Reply" when it came by mail',
  },
  { hookd: "queue_id", sfmc: null, note: "only as messageKey's and jobId's fallback" },
  { hookd: "host", sfmc: null, note: "" },
  { hookd: "mail_from", sfmc: null, note: "" },
  { hookd: "orig_rcpt", sfmc: null, note: "" },
  { hookd: "relay", sfmc: null, note: "" },
  { hookd: "delay_s", sfmc: null, note: "" },
  { hookd: "size", sfmc: null, note: "" },
  { hookd: "nrcpt", sfmc: null, note: "" },
  { hookd: "client_ip", sfmc: null, note: "" },
  { hookd: "attempt", sfmc: null, note: "" },
  { hookd: "tags", sfmc: null, note: "ENS has no tags" },
  { hookd: "first", sfmc: null, note: "" },
  { hookd: "machine", sfmc: null, note: "ENS does not mark machine opens" },
  { hookd: "machine_reason", sfmc: null, note: "" },
  { hookd: "feedback_type", sfmc: null, note: "complaints are not sent" },
  { hookd: "custom_type", sfmc: null, note: "custom events are not sent" },
  { hookd: "data", sfmc: null, note: "custom events are not sent" },
] as const;

/** ENS's maxBatchSize is at most 1,000 (createCallback); receivers may refuse more. */
export const SFMC_MAX_EVENTS = 1000;

/** The signature header, lower-cased like every header hookd sets. */
export const SFMC_SIGNATURE_HEADER = "x-sfmc-ens-signature";

const hardBounces: ReadonlySet<string> = new Set(SFMC_HARD_BOUNCES);
const SMTP_CODE = /^([245]\d\d)(?:[ -]|$)/;

function metaString(f: EventFields, key: string): string | undefined {
  const v = f.metadata?.[key];
  return typeof v === "string" && v !== "" ? v : undefined;
}

function bounceCode(e: Event, f: EventFields): "HARD" | "SOFT" {
  const addressFailed =
    (e.type === "bounce" || e.type === "out_of_band") && hardBounces.has(f.bounce_class ?? "undetermined") && !f.dsn?.startsWith("4");
  return addressFailed ? "HARD" : "SOFT";
}

/** One hookd event as ENS would have posted it, or null when ENS has no such event. */
export function toSfmc(e: Event): Record<string, unknown> | null {
  const category = SFMC_EVENTS[e.type];
  const f: EventFields = e;
  if (category === null || f.notice !== undefined) return null;
  const out: Record<string, unknown> = { eventCategoryType: category, timestampUTC: Date.parse(e.timestamp), compositeId: e.event_id };
  const jobId = f.message_id || f.queue_id;
  const composite: Record<string, string> = {};
  if (jobId) composite.jobId = jobId;
  if (f.rcpt_to !== undefined) composite.subscriberId = f.rcpt_to;
  out.composite = composite;

  const info: Record<string, unknown> = {};
  if (category.startsWith("TransactionalSendEvents.")) {
    if (f.campaign_id !== undefined) out.definitionKey = f.campaign_id;
    if (f.rcpt_to !== undefined) info.to = f.rcpt_to;
    const subscriberKey = metaString(f, "subscriberKey") ?? f.rcpt_to;
    if (subscriberKey !== undefined) info.subscriberKey = subscriberKey;
    const messageKey = metaString(f, "messageKey") ?? jobId;
    if (messageKey) info.messageKey = messageKey;
    if (category === "TransactionalSendEvents.EmailSent") info.status = "Sent";
    if (category === "TransactionalSendEvents.EmailBounced") {
      info.bounceCode = bounceCode(e, f);
      if (f.response !== undefined) info.bounceMessage = f.response;
      if (f.dsn !== undefined) info.smtpReason = f.dsn;
    }
    if (category === "TransactionalSendEvents.EmailNotSent") {
      if (f.response !== undefined) info.reason = f.response;
      const code = f.response ? SMTP_CODE.exec(f.response)?.[1] : undefined;
      if (code) info.statusCode = code;
      info.statusMessage = "Policy rejection";
    }
  } else {
    // ENS's engagement payloads carry these literally (engagement_email_events).
    out.definitionKey = "NA";
    out.definitionId = "NA";
    if (category === "EngagementEvents.EmailUnsubscribe") {
      if (f.rcpt_to !== undefined) {
        info.to = f.rcpt_to;
        info.domain = f.rcpt_to.slice(f.rcpt_to.lastIndexOf("@") + 1).toLowerCase();
      }
      info.unsubscribeDate = Date.parse(e.timestamp);
      info.unsubscribeMethod = f.ip !== undefined || f.user_agent !== undefined ? "Click" : "Reply";
    } else {
      out.channel = "email";
      if (f.ip !== undefined) info.ipAddress = f.ip;
      if (f.url !== undefined) info.contentLink = f.url;
      if (f.user_agent !== undefined) info.userAgent = f.user_agent;
      // "If the location was unable to be detected, this object will be empty."
      info.location = {};
    }
  }
  out.info = info;
  return out;
}

/**
 * What ENS POSTs to a callback it is creating (createCallback, verifyCallback): unsigned, as
 * the receiver has no key yet. A receiver written for ENS answers it 200 (and may log it or
 * call ens-verify with it), so it is the sfmc format's test POST.
 */
export function sfmcVerificationProbe(callbackId: string): { callbackId: string; verificationKey: string } {
  return { callbackId, verificationKey: randomBytes(16).toString("hex") };
}

/** A new signature key in SFMC's form: 32 random bytes, base64. */
export function newSfmcSignatureKey(): string {
  return randomBytes(32).toString("base64");
}

/**
 * x-sfmc-ens-signature: base64 of HMAC-SHA256 over the exact body bytes. The HMAC key is
 * the signature key's base64-decoded bytes (see README "Salesforce Marketing Cloud" for why
 * decoded and not the string's characters).
 */
export function sfmcSignature(signatureKey: string, body: Uint8Array | string): string {
  return createHmac("sha256", Buffer.from(signatureKey, "base64")).update(body).digest("base64");
}
