import { z } from "zod";
import { EVENT_SETTINGS, UNMAPPED_SETTINGS, type EventSetting, type UnmappedSetting } from "./event-settings.ts";

// The request bodies of SendGrid's Event Webhook API (contracts/sendgrid-tsg_webhooks_v3.json:
// EventWebhookRequest, EventWebhookTestRequest, the signed toggle). Its schemas do not
// close their objects (no additionalProperties: false), so a field SendGrid does not list
// is dropped, not refused: z.object, not strictObject. What is listed is checked by type.

const flag = z.boolean().optional();
const text = (max: number) => z.string().max(max, `at most ${max} characters`).nullable().optional();

const eventFlags = Object.fromEntries(EVENT_SETTINGS.map((s) => [s, flag])) as Record<EventSetting, typeof flag>;
// account_status_change is not in EventWebhookRequest, but the document's `include`
// parameter says the update endpoint turns it on; taken like the others.
const unmappedFlags = Object.fromEntries(UNMAPPED_SETTINGS.map((s) => [s, flag])) as Record<UnmappedSetting, typeof flag>;

const oauth = {
  oauth_client_id: text(1024),
  oauth_client_secret: text(1024),
  oauth_token_url: text(2048),
};

/** Create and update (PATCH) take the same body; `url` is required in both, as the document says. */
export const EventWebhookRequest = z.object({
  enabled: flag,
  // Checked as a URL by the mapping, which answers in SendGrid's words ("'x' is not a valid url").
  url: z.string().max(2048, "at most 2048 characters"),
  ...eventFlags,
  ...unmappedFlags,
  friendly_name: text(255),
  ...oauth,
});
export type EventWebhookRequest = z.infer<typeof EventWebhookRequest>;

export const SignedRequest = z.object({ enabled: z.boolean() });

export const EventWebhookTestRequest = z.object({
  id: z.string().max(64).optional(),
  url: z.string().max(2048, "at most 2048 characters"),
  ...oauth,
});
export type EventWebhookTestRequest = z.infer<typeof EventWebhookTestRequest>;

/** OAuth fields as given: null and "" both mean "none" (SendGrid turns OAuth off with empty strings). */
export type OAuthFields = Pick<EventWebhookRequest, keyof typeof oauth>;
