import type { WebhookRow } from "../../store/driver.ts";
import type { WebhookCreateInput, WebhookUpdateInput } from "../../webhooks/fields.ts";
import type { SendGridSettings } from "../../webhooks/model.ts";
import { iso } from "../routes/common.ts";
import { TargetUrl } from "../schemas/webhook.ts";
import { invalidUrl } from "./errors.ts";
import { EVENT_SETTINGS, eventsWithSettings, settingsOfEvents, UNMAPPED_SETTINGS, type EventSetting } from "./event-settings.ts";
import { oauthChange, oauthView } from "./oauth.ts";
import type { EventWebhookRequest } from "./schemas.ts";

// A SendGrid Event Webhook body → the webhook service's input (hookd's field names), and a
// webhook → SendGrid's response bodies. enabled ⇄ active, url ⇄ target, friendly_name ⇄
// name, the per-type booleans ⇄ events (event-settings.ts), oauth_* ⇄ auth (oauth.ts).

/** hookd needs a name; a webhook made without friendly_name is named after its URL's host. */
function nameOf(friendlyName: string | null | undefined, target: string): string {
  return friendlyName?.trim() || new URL(target).host;
}

function checkedUrl(url: string): string {
  if (!TargetUrl.safeParse(url).success) throw invalidUrl("url", url);
  return url;
}

function eventSettingsOf(body: EventWebhookRequest): Partial<Record<EventSetting, boolean>> {
  const out: Partial<Record<EventSetting, boolean>> = {};
  for (const s of EVENT_SETTINGS) if (body[s] !== undefined) out[s] = body[s];
  return out;
}

function unmappedOf(body: EventWebhookRequest, stored: SendGridSettings | null): SendGridSettings | undefined {
  const given = UNMAPPED_SETTINGS.filter((s) => body[s] !== undefined);
  if (!given.length) return undefined;
  return { ...stored, ...Object.fromEntries(given.map((s) => [s, body[s]])) };
}

/**
 * A webhook made through SendGrid's API. As on SendGrid: a boolean left out is false
 * (`enabled` too), and the ECDSA signature starts off (the signed endpoint turns it on).
 * Verification `none`: SendGrid's create does not call the URL, and its users create the
 * webhook before the receiver is up; the private-target guard still applies.
 */
export function createInput(body: EventWebhookRequest): WebhookCreateInput {
  const target = checkedUrl(body.url);
  const settings = Object.fromEntries(EVENT_SETTINGS.map((s) => [s, body[s] ?? false])) as Record<EventSetting, boolean>;
  const oauth = oauthChange(body, null);
  return {
    name: nameOf(body.friendly_name, target),
    target,
    events: eventsWithSettings(null, settings),
    active: body.enabled ?? false,
    format: "sendgrid",
    verification: "none",
    ecdsa_signed: false,
    sendgrid_settings: Object.fromEntries(UNMAPPED_SETTINGS.map((s) => [s, body[s] ?? false])),
    ...(oauth.kind === "on" ? { auth_type: "oauth2" as const, auth_request_details: oauth.details } : {}),
  };
}

/** A PATCH: `url` (required by the document) and whatever else is given; the rest stays. */
export function updateInput(body: EventWebhookRequest, current: WebhookRow): WebhookUpdateInput {
  const target = checkedUrl(body.url);
  const out: WebhookUpdateInput = { target };
  if (body.enabled !== undefined) out.active = body.enabled;
  const settings = eventSettingsOf(body);
  if (Object.keys(settings).length) out.events = eventsWithSettings(current.events, settings);
  const unmapped = unmappedOf(body, current.sendgridSettings);
  if (unmapped) out.sendgrid_settings = unmapped;
  if (body.friendly_name !== undefined) out.name = nameOf(body.friendly_name, target);
  const oauth = oauthChange(body, current.authRequestDetails);
  if (oauth.kind === "on") {
    out.auth_type = "oauth2";
    out.auth_request_details = oauth.details;
  } else if (oauth.kind === "off" && current.authType === "oauth2") {
    // Only OAuth is turned off: another kind of receiver auth (set through hookd's API) stays.
    out.auth_type = "none";
    out.auth_request_details = null;
  }
  return out;
}

/** SendGrid's response body of one webhook; which optional parts depends on the endpoint (the document's schemas). */
export type EventWebhookView = { enabled: boolean; url: string; account_status_change?: boolean } & Record<EventSetting, boolean> & {
    group_resubscribe: boolean;
    group_unsubscribe: boolean;
    friendly_name: string;
    id: string;
    oauth_client_id?: string;
    oauth_token_url?: string;
    public_key?: string;
    created_date?: string;
    updated_date?: string;
  };

export type ViewParts = {
  /** created_date and updated_date (not in GET one's EventWebhookNoDatesResponse). */
  dates: boolean;
  /** The ECDSA public key, for the endpoints whose schema has it, when signing is on. */
  publicKey: string | null;
  /** `?include=account_status_change`. */
  accountStatus: boolean;
};

// SendGrid writes times without fractions: 2023-01-01T12:00:00Z.
const sendGridTime = (ms: number) => iso(ms)!.replace(/\.\d{3}Z$/, "Z");

export function eventWebhookView(w: WebhookRow, parts: ViewParts): EventWebhookView {
  const extra = w.sendgridSettings ?? {};
  const oauth = oauthView(w);
  return {
    enabled: w.active,
    url: w.target,
    ...(parts.accountStatus ? { account_status_change: extra.account_status_change ?? false } : {}),
    group_resubscribe: extra.group_resubscribe ?? false,
    group_unsubscribe: extra.group_unsubscribe ?? false,
    ...settingsOfEvents(w.events),
    friendly_name: w.name,
    id: w.id,
    ...(oauth ?? {}),
    ...(parts.publicKey ? { public_key: parts.publicKey } : {}),
    ...(parts.dates ? { created_date: sendGridTime(w.createdAt), updated_date: sendGridTime(w.updatedAt) } : {}),
  };
}
