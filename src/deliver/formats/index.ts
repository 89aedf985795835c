// The body and the format-specific headers of one request, per webhook `format`. Pure: the
// caller brings the events, the batch id, the clock and the key. The Standard Webhooks
// headers (sign.ts) go on every request whatever the format; these come on top.
import type { Event, EventType } from "../../events/schema.ts";
import { TWILIO_SIGNATURE_HEADER, TWILIO_TIMESTAMP_HEADER, twilioSignatureHeaders } from "../ecdsa.ts";
import type { WebhookFormat } from "../../webhooks/model.ts";
import { COPERNICA_CONTENT_TYPE, copernicaType, toCopernica } from "./copernica.ts";
import { encodeBatch } from "./hookd.ts";
import { SENDGRID_EVENTS, toSendGrid } from "./sendgrid.ts";
import { SFMC_EVENTS, SFMC_SIGNATURE_HEADER, sfmcSignature, toSfmc } from "./sfmc.ts";
import { SPARKPOST_EVENTS, toSparkPost } from "./sparkpost.ts";

// The formats whose body is a JSON array of mapped events.
const MAPPERS: Record<Exclude<WebhookFormat, "hookd" | "copernica">, (e: Event) => object | null> = {
  sendgrid: toSendGrid,
  sparkpost: toSparkPost,
  sfmc: toSfmc,
};

const encoder = new TextEncoder();

/**
 * Whether an event of this type (a custom event: of this name) reaches a webhook in this
 * format. A provider format sends only what the provider has a name for: no custom events,
 * except Copernica's profile creations, updates and removals.
 */
export function formatCarries(format: WebhookFormat, type: EventType, customType?: string | null): boolean {
  if (format === "hookd") return true; // first: the batcher asks for every event it scans
  if (format === "sendgrid") return SENDGRID_EVENTS[type] !== null;
  if (format === "sparkpost") return SPARKPOST_EVENTS[type] !== null;
  if (format === "sfmc") return SFMC_EVENTS[type] !== null;
  // Without a name (undefined): whether it carries any custom event at all.
  return type === "custom" ? customType === undefined || copernicaType(type, customType) !== null : copernicaType(type) !== null;
}

/** Copernica posts one event per request; every other format, a batch. */
export const ONE_EVENT_PER_REQUEST: ReadonlySet<WebhookFormat> = new Set(["copernica"]);

/** The Content-Type of a request body in this format. */
export function formatContentType(format: WebhookFormat): string {
  return format === "copernica" ? COPERNICA_CONTENT_TYPE : "application/json";
}

/**
 * The request body for a batch: from each event's stored JSON text (batches, replays), or
 * from event objects (samples, validate) without a serialize-parse round trip. `hookd`
 * joins the texts as they are; the provider formats map each event, leaving out events the
 * provider has no counterpart for (the body may then be `[]`). `copernica` is one event's
 * form: its batches hold one event (batchLimits); given several (a sample of several types)
 * the first it carries is the body, none gives an empty body.
 */
export function encodeBody(format: WebhookFormat, events: readonly string[] | readonly Event[]): Uint8Array<ArrayBuffer> {
  if (format === "hookd") return encodeBatch(areTexts(events) ? events : events.map((e) => JSON.stringify(e)));
  if (format === "copernica") {
    for (const e of events) {
      const form = toCopernica(typeof e === "string" ? (JSON.parse(e) as Event) : e);
      if (form) return encoder.encode(form.toString());
    }
    return encoder.encode("");
  }
  const map = MAPPERS[format];
  const out: object[] = [];
  for (const e of events) {
    const mapped = map(typeof e === "string" ? (JSON.parse(e) as Event) : e);
    if (mapped) out.push(mapped);
  }
  return encoder.encode(JSON.stringify(out));
}

// One kind or the other, never mixed (the type says so): the first decides.
const areTexts = (events: readonly string[] | readonly Event[]): events is readonly string[] => typeof events[0] !== "object";

export type FormatHeaderInput = {
  /** The batch id, as in webhook-id. */
  batchId: string;
  /** The exact bytes sent. */
  body: Uint8Array | string;
  nowMs: number;
  /** The webhook's ECDSA key (PKCS#8 DER, base64); `sendgrid` signs only when given. */
  signingPrivateKey?: string | null;
  /** The webhook's SFMC signature key (base64); `sfmc` signs only when given. */
  sfmcSignatureKey?: string | null;
};

/**
 * Headers only this format sends, lower-cased like the rest of requestHeaders() so a
 * merge replaces rather than duplicates: `sparkpost` names the batch in
 * x-messagesystems-batch-id; `sendgrid` adds SendGrid's ECDSA signature pair; `sfmc`,
 * x-sfmc-ens-signature.
 */
export function formatHeaders(format: WebhookFormat, input: FormatHeaderInput): Record<string, string> {
  if (format === "sparkpost") return { "x-messagesystems-batch-id": input.batchId };
  if (format === "sfmc" && input.sfmcSignatureKey) return { [SFMC_SIGNATURE_HEADER]: sfmcSignature(input.sfmcSignatureKey, input.body) };
  if (format === "sendgrid" && input.signingPrivateKey) {
    const signed = twilioSignatureHeaders({
      privateKeyPkcs8B64: input.signingPrivateKey,
      timestampSec: Math.floor(input.nowMs / 1000),
      body: input.body,
    });
    return {
      [TWILIO_SIGNATURE_HEADER.toLowerCase()]: signed[TWILIO_SIGNATURE_HEADER],
      [TWILIO_TIMESTAMP_HEADER.toLowerCase()]: signed[TWILIO_TIMESTAMP_HEADER],
    };
  }
  return {};
}
