import { COPERNICA_CUSTOM_TYPES } from "../deliver/formats/copernica.ts";
import { formatCarries } from "../deliver/formats/index.ts";
import { privateTargetReason } from "../deliver/target-guard.ts";
import { ServiceError, type ErrorItem } from "../lib/errors.ts";
import type { WebhookRow } from "../store/driver.ts";
import { isCustomTypeName } from "./fields.ts";

// What a webhook must be, judged on the whole of it (the stored row with a change applied),
// so a change of one field is judged with the others it depends on.

type Checked = Pick<WebhookRow, "target" | "events" | "format" | "authType" | "authToken" | "authCredentials" | "authRequestDetails">;

// auth_type names the credential field that must be present; a PATCH that only changes
// auth_type is judged with the stored credentials.
const NEEDS = {
  none: null,
  token: ["auth_token", "authToken"],
  basic: ["auth_credentials", "authCredentials"],
  oauth2: ["auth_request_details", "authRequestDetails"],
} as const;

export function authIssues(w: Pick<Checked, "authType" | "authToken" | "authCredentials" | "authRequestDetails">): ErrorItem[] {
  const need = NEEDS[w.authType];
  if (!need || (w[need[1]] !== undefined && w[need[1]] !== null)) return [];
  return [{ field: need[0], message: `${need[0]} is required when auth_type is "${w.authType}"`, code: "required" }];
}

/**
 * A provider format sends only the custom events its provider has a name for (SendGrid,
 * SparkPost and SFMC: none; Copernica: its profile calls); subscribing to others explicitly
 * would be a silent no-op.
 */
function formatIssues(w: Pick<Checked, "format" | "events">): ErrorItem[] {
  if (w.format === "hookd") return [];
  const custom = w.events.filter((e) => e === "custom" || isCustomTypeName(e));
  const refused = custom.filter((e) => !formatCarries(w.format, "custom", e === "custom" ? undefined : e));
  if (!refused.length) return [];
  if (w.format !== "copernica") {
    return [
      { message: `events: format "${w.format}" has no custom events; use format "hookd" for them`, field: "events", code: "invalid_value" },
    ];
  }
  const names = Object.keys(COPERNICA_CUSTOM_TYPES).join(", ");
  return [
    {
      message: `events: format "copernica" has no call for ${refused.map((e) => `"${e}"`).join(", ")}; its custom types are ${names}`,
      field: "events",
      code: "invalid_value",
    },
  ];
}

/**
 * Custom event names newly subscribed to must be known: declared in config
 * (events.custom_types) or seen in POST /events. A typo would otherwise subscribe to nothing.
 * `isNew` says which entries of `events` (the list as given) to judge; errors name their index.
 */
export function customTypeIssues(events: readonly string[], isNew: (entry: string) => boolean, known: ReadonlySet<string>): ErrorItem[] {
  const issues: ErrorItem[] = [];
  events.forEach((entry, i) => {
    if (!isCustomTypeName(entry) || !isNew(entry) || known.has(entry)) return;
    const field = `events[${i}]`;
    issues.push({
      message: `${field}: "${entry}" is no event type, and no custom event of that name is declared (events.custom_types in the config) or has been posted yet`,
      field,
      code: "invalid_value",
    });
  });
  return issues;
}

/** With allow_private_targets = false, no URL hookd will POST to may point inside. */
async function targetIssues(w: Pick<Checked, "target" | "authRequestDetails">, allowPrivateTargets: boolean): Promise<ErrorItem[]> {
  if (allowPrivateTargets) return [];
  const urls: [string, string | undefined][] = [
    ["target", w.target],
    ["auth_request_details.url", w.authRequestDetails?.url],
  ];
  for (const [field, url] of urls) {
    const reason = url ? await privateTargetReason(url) : null;
    if (reason) return [{ message: `${field}: ${reason}`, field, code: "invalid_url" }];
  }
  return [];
}

/**
 * fetch does not turn a URL's `user:password@` into an Authorization header: such a target
 * never authenticates (and a view would show the password). Judged on the URLs a create or
 * change sends, so a webhook stored before this rule can still be edited otherwise.
 */
export function userinfoIssues(w: {
  target?: string | undefined;
  authRequestDetails?: Checked["authRequestDetails"] | undefined;
}): ErrorItem[] {
  const issues: ErrorItem[] = [];
  const has = (url: string) => {
    const u = new URL(url);
    return u.username !== "" || u.password !== "";
  };
  if (w.target && has(w.target)) {
    issues.push({
      message: 'target: user:password@ in the URL is not sent to the receiver; set auth_type "basic" and auth_credentials instead',
      field: "target",
      code: "invalid_url",
    });
  }
  if (w.authRequestDetails && has(w.authRequestDetails.url)) {
    issues.push({
      message: "auth_request_details.url: user:password@ in the URL is not sent; the client id and secret go in auth_request_details.body",
      field: "auth_request_details.url",
      code: "invalid_url",
    });
  }
  return issues;
}

/** Throws the first kind of problem found: credentials for the auth type, then format, then targets. */
export async function checkWebhook(w: Checked, allowPrivateTargets: boolean): Promise<void> {
  const sync = [authIssues(w), formatIssues(w)].find((issues) => issues.length);
  if (sync) throw new ServiceError(sync);
  const targets = await targetIssues(w, allowPrivateTargets);
  if (targets.length) throw new ServiceError(targets);
}
