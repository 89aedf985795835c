// The body and the format-specific headers of one request, per webhook `format`. Pure: the
// caller brings the events, the batch id, the clock and the key. The Standard Webhooks
// headers (sign.ts) go on every request whatever the format; these come on top.
import type { Event, EventType } from "../../events/schema.ts";
import { TWILIO_SIGNATURE_HEADER, TWILIO_TIMESTAMP_HEADER, twilioSignatureHeaders } from "../ecdsa.ts";
import type { WebhookFormat } from "../../webhooks/model.ts";
import { encodeBatch } from "./hookd.ts";
import { SENDGRID_EVENTS, toSendGrid } from "./sendgrid.ts";
import { SPARKPOST_EVENTS, toSparkPost } from "./sparkpost.ts";

const MAPPERS: Record<Exclude<WebhookFormat, "hookd">, (e: Event) => object | null> = {
  sendgrid: toSendGrid,
  sparkpost: toSparkPost,
};

const encoder = new TextEncoder();

/**
 * Whether events of this type reach a webhook in this format. The providers have no
 * counterpart of hookd's `custom` events, so their formats leave them out of the body.
 */
export function formatCarries(format: WebhookFormat, type: EventType): boolean {
  if (format === "sendgrid") return SENDGRID_EVENTS[type] !== null;
  if (format === "sparkpost") return SPARKPOST_EVENTS[type] !== null;
  return true;
}

/**
 * The request body for a batch: from each event's stored JSON text (batches, replays), or
 * from event objects (samples, validate) without a serialize-parse round trip. `hookd`
 * joins the texts as they are; the provider formats map each event, leaving out events the
 * provider has no counterpart for (the body may then be `[]`).
 */
export function encodeBody(format: WebhookFormat, events: readonly string[] | readonly Event[]): Uint8Array<ArrayBuffer> {
  if (format === "hookd") return encodeBatch(areTexts(events) ? events : events.map((e) => JSON.stringify(e)));
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
};

/**
 * Headers only this format sends, lower-cased like the rest of requestHeaders() so a
 * merge replaces rather than duplicates: `sparkpost` names the batch in
 * x-messagesystems-batch-id; `sendgrid` adds SendGrid's ECDSA signature pair.
 */
export function formatHeaders(format: WebhookFormat, input: FormatHeaderInput): Record<string, string> {
  if (format === "sparkpost") return { "x-messagesystems-batch-id": input.batchId };
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
