// Format "copernica": Copernica's webhook calls, one event per POST, its variables sent as
// application/x-www-form-urlencoded, associative arrays per key (fields[name]=value) and lists
// per item (tags[]=x). Sources: CopernicaMarketingSoftware/Documentation, Publisher/en/
// webhook-deliveries, -failures, -opens, -clicks, -creates, -updates, -deletes (Marketing
// Suite; removed from the repository in d9a221b, read at its parent) and SMTPeter/en/
// webhook-deliveries and webhook-abuses (code/extended/description on deliveries; abuse).
// The tables below are the whole mapping; docs print them, tests hold the code to them.
import type { Event, EventType } from "../../events/schema.ts";
import type { EventFields } from "./fields.ts";

/** hookd `type` → Copernica `type`; null: Copernica has no such call. Custom events: COPERNICA_CUSTOM_TYPES. */
export const COPERNICA_EVENTS = {
  injection: null,
  delivery: "delivery",
  // Copernica reports no deferrals, only failures.
  delay: null,
  // "failures during the SMTP handshake as well as asynchronous failures" (webhook-failures).
  bounce: "failure",
  expired: "failure",
  policy_rejection: "failure",
  out_of_band: "failure",
  open: "open",
  click: "click",
  // Unsubscribes are profile updates in Copernica, not calls of their own.
  list_unsubscribe: null,
  spam_complaint: "abuse",
  custom: "(by custom_type)",
} as const satisfies Record<EventType, string | null>;

/**
 * Custom event names that are Copernica calls: a (sub)profile created, updated or removed.
 * `data` carries Copernica's variables (profile, subprofile, database, collection, id,
 * created, modified, parameters, fields, interests), sent as they are.
 */
export const COPERNICA_CUSTOM_TYPES: Readonly<Record<string, "create" | "update" | "delete">> = {
  "profile.created": "create",
  "profile.updated": "update",
  "profile.deleted": "delete",
  "subprofile.created": "create",
  "subprofile.updated": "update",
  "subprofile.deleted": "delete",
};

/** Every hookd field and where it goes; `copernica: null`: not sent. */
export const COPERNICA_FIELDS = [
  { hookd: "notice", copernica: null, note: "notices are not sent: Copernica calls no webhook for the notices an MTA generates" },
  { hookd: "type", copernica: "type", note: "see COPERNICA_EVENTS and COPERNICA_CUSTOM_TYPES" },
  { hookd: "custom_type", copernica: "type", note: "profile.created → create, …; others are not sent" },
  { hookd: "timestamp", copernica: "timestamp", note: "YYYY-MM-DD HH:MM:SS, UTC" },
  { hookd: "timestamp", copernica: "time", note: "unix seconds" },
  { hookd: "message_id", copernica: "id", note: "mail events: queue_id when message_id is missing" },
  { hookd: "rcpt_to", copernica: "recipient", note: "" },
  { hookd: "rcpt_to", copernica: "emailfrom", note: "abuse: the complaining address" },
  { hookd: "tags", copernica: "tags", note: "one tags[] per tag" },
  { hookd: "response", copernica: "code", note: "deliveries and failures: its SMTP reply code" },
  { hookd: "dsn", copernica: "extended", note: "deliveries and failures; from the response when dsn is missing" },
  { hookd: "response", copernica: "description", note: "deliveries and failures: the reply after its codes" },
  {
    hookd: "response",
    copernica: "state",
    note: 'failures: the SMTP stage the reply names (rcptto, mailfrom, data, message, …), "bounce" for out_of_band, else "unknown"',
  },
  { hookd: "bounce_class", copernica: "action", note: 'failures: always "failed" (hookd reports final failures only)' },
  { hookd: "ip", copernica: "ip", note: "opens and clicks" },
  { hookd: "user_agent", copernica: "useragent", note: "opens and clicks" },
  { hookd: "url", copernica: "original", note: "clicks" },
  {
    hookd: "data",
    copernica: "(each key)",
    note: "custom events: fields[name]=value, interests[]=x, profile=…; type, timestamp and time stay hookd's",
  },
  { hookd: "event_id", copernica: null, note: "Copernica has no event id; dedupe on webhook-id" },
  { hookd: "queue_id", copernica: null, note: "only as id's fallback" },
  { hookd: "host", copernica: null, note: "" },
  { hookd: "mail_from", copernica: null, note: "" },
  { hookd: "orig_rcpt", copernica: null, note: "" },
  { hookd: "relay", copernica: null, note: "" },
  { hookd: "delay_s", copernica: null, note: "" },
  { hookd: "size", copernica: null, note: "" },
  { hookd: "nrcpt", copernica: null, note: "" },
  { hookd: "client_ip", copernica: null, note: "" },
  { hookd: "attempt", copernica: null, note: "" },
  { hookd: "campaign_id", copernica: null, note: "" },
  { hookd: "metadata", copernica: null, note: "" },
  { hookd: "first", copernica: null, note: "" },
  { hookd: "machine", copernica: null, note: "" },
  { hookd: "machine_reason", copernica: null, note: "" },
  { hookd: "feedback_type", copernica: null, note: "" },
] as const;

export const COPERNICA_CONTENT_TYPE = "application/x-www-form-urlencoded";

// The SMTP stage a failure happened in, in Copernica's (MailerQ's) state names, from the
// reply as Postfix ("in reply to RCPT TO command") or Exim ("after RCPT TO:") logs it.
const STATES: readonly [RegExp, string][] = [
  [/\b(?:in reply to|after) end of data\b/i, "message"],
  [/\b(?:in reply to|after) RCPT TO\b/i, "rcptto"],
  [/\b(?:in reply to|after) MAIL FROM\b/i, "mailfrom"],
  [/\b(?:in reply to|after) DATA\b/i, "data"],
  [/\b(?:in reply to|after) (?:EHLO|HELO)\b/i, "ehlo"],
  [/\b(?:in reply to|after) STARTTLS\b/i, "starttls"],
  [/\b(?:in reply to initial greeting|after initial connection)\b/i, "intro"],
];
const REPLY = /^([245]\d\d)(?:[ -]|$)(?:([245]\.\d{1,3}\.\d{1,3})(?: |$))?/;

/** "2026-11-23 13:07:09" (UTC). */
function copernicaTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

function smtpParts(f: EventFields): { code?: string; extended?: string; description?: string } {
  const response = f.response;
  if (response === undefined) return f.dsn === undefined ? {} : { extended: f.dsn };
  const said = response.indexOf("said: ");
  const text = said === -1 ? response : response.slice(said + 6);
  const m = REPLY.exec(text);
  const extended = f.dsn ?? m?.[2];
  return { ...(m ? { code: m[1] } : {}), ...(extended ? { extended } : {}), description: m ? text.slice(m[0].length).trim() : text };
}

function failureState(e: Event, f: EventFields): string {
  if (e.type === "out_of_band") return "bounce";
  for (const [pattern, state] of STATES) if (f.response && pattern.test(f.response)) return state;
  return "unknown";
}

// Copernica's array rule: associative arrays per key (fields[name]=value), lists per item
// (interests[]=x); deeper levels nest the same way. Booleans as PHP sends them: 1 and 0.
function append(p: URLSearchParams, key: string, v: unknown): void {
  if (v === undefined) return;
  if (v === null) p.append(key, "");
  else if (Array.isArray(v))
    v.forEach((item, i) => append(p, item !== null && typeof item === "object" ? `${key}[${i}]` : `${key}[]`, item));
  else if (typeof v === "object") for (const [k, x] of Object.entries(v)) append(p, `${key}[${k}]`, x);
  else if (typeof v === "boolean") p.append(key, v ? "1" : "0");
  else p.append(key, String(v));
}

/** The Copernica `type` of an event, or null when Copernica has no such call. */
export function copernicaType(type: EventType, customType?: string | null): string | null {
  if (type === "custom") return customType ? (COPERNICA_CUSTOM_TYPES[customType] ?? null) : null;
  return COPERNICA_EVENTS[type];
}

/** One hookd event as the variables of Copernica's POST, or null when Copernica has no such call. */
export function toCopernica(e: Event): URLSearchParams | null {
  const f: EventFields = e;
  const type = copernicaType(e.type, f.custom_type);
  if (type === null || f.notice !== undefined) return null;
  const ms = Date.parse(e.timestamp);
  const p = new URLSearchParams();
  if (e.type === "custom") {
    p.append("type", type);
    p.append("timestamp", copernicaTime(ms));
    p.append("time", String(Math.floor(ms / 1000)));
    for (const [k, v] of Object.entries(f.data ?? {})) if (k !== "type" && k !== "timestamp" && k !== "time") append(p, k, v);
    return p;
  }
  const id = f.message_id || f.queue_id;
  if (id) p.append("id", id);
  p.append("type", type);
  if (type === "abuse") {
    if (f.rcpt_to !== undefined) p.append("emailfrom", f.rcpt_to);
    return p;
  }
  p.append("timestamp", copernicaTime(ms));
  p.append("time", String(Math.floor(ms / 1000)));
  if (f.rcpt_to !== undefined) p.append("recipient", f.rcpt_to);
  if (type === "failure") {
    p.append("action", "failed");
    p.append("state", failureState(e, f));
  }
  if (type === "failure" || type === "delivery") {
    const smtp = smtpParts(f);
    if (smtp.code) p.append("code", smtp.code);
    if (smtp.extended) p.append("extended", smtp.extended);
    if (smtp.description) p.append("description", smtp.description);
  }
  if (f.ip !== undefined) p.append("ip", f.ip);
  if (f.url !== undefined) p.append("original", f.url);
  if (f.user_agent !== undefined) p.append("useragent", f.user_agent);
  append(p, "tags", f.tags);
  return p;
}
