import { isEventType } from "../events/schema.ts";
import type { WebhookInsert, WebhookRow } from "../store/driver.ts";
import type {
  AuthCredentials,
  AuthRequestDetails,
  AuthType,
  SendGridSettings,
  Verification,
  WebhookFilter,
  WebhookFormat,
} from "./model.ts";

// What a caller of the service gives: a webhook's fields under the names hookd documents
// (SPEC "Webhook fields", the names of their columns too), already validated by the
// caller's own schema. The REST API's bodies are exactly this; another API (SendGrid's
// Event Webhook settings) maps its names to these, and maps the `field` of an error back.

export type WebhookFields = {
  name: string;
  target: string;
  events: string[];
  active: boolean;
  auth_type: AuthType;
  auth_token: string;
  auth_credentials: AuthCredentials;
  auth_request_details: AuthRequestDetails;
  custom_headers: Record<string, string>;
  format: WebhookFormat;
  verification: Verification;
  batch_max_events: number;
  /** Bytes. */
  batch_max_bytes: number;
  /** Milliseconds. */
  batch_max_wait: number;
  filter: WebhookFilter;
  /** `sendgrid` format: send SendGrid's ECDSA signature headers (default true). SendGrid's API toggles it; hookd's shows it. */
  ecdsa_signed: boolean;
  /** SendGrid's settings with no hookd event type (model.ts); only SendGrid's API writes and reads them. */
  sendgrid_settings: SendGridSettings;
};

type NeededAtCreate = "name" | "target" | "events";
/** Fields that may be cleared with null (back to none, or to the config default). */
export type ClearableField = Exclude<
  keyof WebhookFields,
  NeededAtCreate | "active" | "auth_type" | "format" | "verification" | "ecdsa_signed"
>;

/** A new webhook: name, target and events; the rest default (active, auth none, format hookd, verification test_post, ECDSA-signed). */
export type WebhookCreateInput = Pick<WebhookFields, NeededAtCreate> & Partial<Omit<WebhookFields, NeededAtCreate>>;

/** A change: only the fields given; null clears a clearable one. */
export type WebhookUpdateInput = Partial<Omit<WebhookFields, ClearableField> & { [K in ClearableField]: WebhookFields[K] | null }>;

/** Each field's column (drizzle's camel-case name). */
const COLUMN = {
  name: "name",
  target: "target",
  events: "events",
  active: "active",
  auth_type: "authType",
  auth_token: "authToken",
  auth_credentials: "authCredentials",
  auth_request_details: "authRequestDetails",
  custom_headers: "customHeaders",
  format: "format",
  verification: "verification",
  batch_max_events: "batchMaxEvents",
  batch_max_bytes: "batchMaxBytes",
  batch_max_wait: "batchMaxWait",
  filter: "filter",
  ecdsa_signed: "ecdsaSigned",
  sendgrid_settings: "sendgridSettings",
} as const satisfies { [K in keyof WebhookFields]: keyof WebhookInsert };

/** The columns a webhook's fields are stored in. */
export type WebhookColumns = Pick<WebhookRow, (typeof COLUMN)[keyof WebhookFields]>;

// What a webhook is when a new one's input leaves a field out.
const DEFAULTS = {
  active: true,
  authType: "none",
  authToken: null,
  authCredentials: null,
  authRequestDetails: null,
  customHeaders: null,
  format: "hookd",
  verification: "test_post",
  batchMaxEvents: null,
  batchMaxBytes: null,
  batchMaxWait: null,
  filter: null,
  ecdsaSigned: true,
  sendgridSettings: null,
} as const satisfies Omit<WebhookColumns, NeededAtCreate>;

// SparkPost's names for kinds of events hookd has under another name, so a webhook config
// copied from SparkPost works: they subscribe to the hookd type they map to.
export const SPARKPOST_EVENT_ALIASES = {
  initial_open: "open",
  amp_open: "open",
  amp_initial_open: "open",
  amp_click: "click",
  link_unsubscribe: "list_unsubscribe",
} as const;

/**
 * Aliases resolved, duplicates dropped; "*" anywhere means every type, "custom" every custom
 * event (names beside it add nothing and are dropped).
 */
export function canonicalEventTypes(events: readonly string[]): string[] {
  const mapped: string[] = events.map((e) => SPARKPOST_EVENT_ALIASES[e as keyof typeof SPARKPOST_EVENT_ALIASES] ?? e);
  if (mapped.includes("*")) return ["*"];
  const allCustom = mapped.includes("custom");
  return [...new Set(mapped.filter((e) => !allCustom || !isCustomTypeName(e)))];
}

/**
 * Whether an `events` entry names a custom event ("profile.created") rather than a hookd
 * type, "*" or a SparkPost alias. A name that is also a hookd type is the hookd type.
 */
export function isCustomTypeName(entry: string): boolean {
  return entry !== "*" && !isEventType(entry) && !(entry in SPARKPOST_EVENT_ALIASES);
}

/** A new webhook's columns: the fields given, the defaults for the rest. */
export function newColumns(input: WebhookCreateInput): WebhookColumns {
  return { ...DEFAULTS, ...toColumns(input), name: input.name, target: input.target, events: canonicalEventTypes(input.events) };
}

/** The columns the given fields set (absent fields left out, null kept: it clears). */
export function toColumns(input: WebhookCreateInput | WebhookUpdateInput): Partial<WebhookColumns> {
  const row: Record<string, unknown> = {};
  for (const [field, column] of Object.entries(COLUMN) as [keyof WebhookFields, keyof WebhookInsert][]) {
    const value = input[field];
    if (value === undefined) continue;
    row[column] = field === "events" ? canonicalEventTypes(value as string[]) : value;
  }
  return row as Partial<WebhookColumns>;
}
