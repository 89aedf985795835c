import { ServiceError, type ErrorItem } from "../lib/errors.ts";
import type { WebhookInsert, WebhookRow } from "../store/driver.ts";

// The credentials a webhook holds for its receiver (auth token, basic password, OAuth2
// client secret, credential-like custom headers) never leave hookd: every view shows them
// as REDACTED. These are the rules that keep it so when clients write them back.

export const REDACTED = "********";
/** Custom headers whose values are credentials, judged by name. */
export const SENSITIVE_HEADER = /auth|token|secret|key|cookie|signature|password/i;

type Credentials = Pick<WebhookRow, "authToken" | "authCredentials" | "authRequestDetails" | "customHeaders">;

/** The credentials as any view shows them: present or absent as stored, secrets replaced by REDACTED. */
export function redactedCredentials(w: Credentials): Credentials {
  return {
    authToken: w.authToken ? REDACTED : null,
    authCredentials: w.authCredentials ? { username: w.authCredentials.username, password: REDACTED } : null,
    authRequestDetails: w.authRequestDetails
      ? { url: w.authRequestDetails.url, body: { client_id: w.authRequestDetails.body.client_id, client_secret: REDACTED } }
      : null,
    customHeaders: w.customHeaders
      ? Object.fromEntries(Object.entries(w.customHeaders).map(([k, v]) => [k, SENSITIVE_HEADER.test(k) ? REDACTED : v]))
      : null,
  };
}

/**
 * A URL with its userinfo and every query value REDACTED (names kept): operators put
 * tokens there (`?token=…`, `user:pass@`) whatever the header rules say.
 */
export function redactedUrl(url: string): string {
  const u = new URL(url);
  if (u.username) u.username = REDACTED;
  if (u.password) u.password = REDACTED;
  if (u.search)
    u.search = u.search
      .slice(1)
      .split("&")
      .map((part) => (part.includes("=") ? `${part.slice(0, part.indexOf("="))}=${REDACTED}` : part))
      .join("&");
  return u.href;
}

/**
 * What a key that may only read webhooks sees: redactedCredentials, and besides every
 * custom header value (a name need not look secret to hold one: X-Session) and the
 * userinfo and query values of the URLs hookd posts to.
 */
export function readerCredentials(w: Credentials & Pick<WebhookRow, "target">): Credentials & Pick<WebhookRow, "target"> {
  const shown = redactedCredentials(w);
  return {
    ...shown,
    target: redactedUrl(w.target),
    authRequestDetails: shown.authRequestDetails && { ...shown.authRequestDetails, url: redactedUrl(shown.authRequestDetails.url) },
    customHeaders: shown.customHeaders && Object.fromEntries(Object.keys(shown.customHeaders).map((k) => [k, REDACTED])),
  };
}

/**
 * Reads show credentials as "********"; a client that sends such a value back (the admin
 * form, a read-modify-write script) means "unchanged", not a new password of eight stars.
 */
export function keepRedacted(patch: Partial<WebhookInsert>, current: WebhookRow): Partial<WebhookInsert> {
  const out = { ...patch };
  if (out.authToken === REDACTED) delete out.authToken;
  if (out.authCredentials?.password === REDACTED && current.authCredentials) {
    out.authCredentials = { ...out.authCredentials, password: current.authCredentials.password };
  }
  if (out.authRequestDetails?.body.client_secret === REDACTED && current.authRequestDetails) {
    out.authRequestDetails = {
      ...out.authRequestDetails,
      body: { ...out.authRequestDetails.body, client_secret: current.authRequestDetails.body.client_secret },
    };
  }
  if (out.customHeaders) {
    const headers = { ...out.customHeaders };
    for (const [k, v] of Object.entries(headers))
      if (v === REDACTED && current.customHeaders?.[k] !== undefined) headers[k] = current.customHeaders[k]!;
    out.customHeaders = headers;
  }
  return out;
}

type Destinations = Pick<WebhookRow, "target" | "authRequestDetails">;
/** Where a secret goes: the field holding the URL, and the URL. */
type Destination = { field: string; url: string };

/**
 * Each stored secret and every URL it is sent to, directly or through what it buys (the
 * OAuth2 client secret goes to the token endpoint, the access token it yields to the
 * target). `kept`: the change leaves the stored value in place (absent, or REDACTED).
 */
type StoredSecret = {
  field: "auth_token" | "auth_credentials" | "auth_request_details" | "custom_headers";
  stored(w: Credentials): boolean;
  kept(patch: Partial<WebhookInsert>): boolean;
  sentTo(w: Destinations): Destination[];
};

const toTarget = (w: Destinations): Destination[] => [{ field: "target", url: w.target }];

const SECRETS: readonly StoredSecret[] = [
  {
    field: "auth_token",
    stored: (w) => !!w.authToken,
    kept: (p) => p.authToken === undefined || p.authToken === REDACTED,
    sentTo: toTarget,
  },
  {
    field: "auth_credentials",
    stored: (w) => !!w.authCredentials,
    kept: (p) => p.authCredentials === undefined || p.authCredentials?.password === REDACTED,
    sentTo: toTarget,
  },
  {
    field: "auth_request_details",
    stored: (w) => !!w.authRequestDetails,
    kept: (p) => p.authRequestDetails === undefined || p.authRequestDetails?.body.client_secret === REDACTED,
    sentTo: (w) => [
      ...(w.authRequestDetails ? [{ field: "auth_request_details.url", url: w.authRequestDetails.url }] : []),
      ...toTarget(w),
    ],
  },
  {
    field: "custom_headers",
    stored: (w) => Object.keys(w.customHeaders ?? {}).some((k) => SENSITIVE_HEADER.test(k)),
    kept: (p) => p.customHeaders === undefined || Object.values(p.customHeaders ?? {}).includes(REDACTED),
    sentTo: toTarget,
  },
];

const origin = (url: string) => new URL(url).origin;

/**
 * Stored credentials never follow a webhook to another origin on their own: each is bound
 * to the origin of every URL it is sent to (the target; for the OAuth2 client secret the
 * token endpoint too), and whoever moves one of those must send it again (or clear it with
 * null). Otherwise a key that may only edit webhooks could point one at itself and collect
 * the secrets views redact. Judged on the change as sent, before keepRedacted fills
 * REDACTED values in.
 */
export function requireFreshCredentials(patch: Partial<WebhookInsert>, current: WebhookRow): void {
  const next: Destinations = {
    target: patch.target ?? current.target,
    authRequestDetails: patch.authRequestDetails === undefined ? current.authRequestDetails : patch.authRequestDetails,
  };
  const problems: ErrorItem[] = [];
  for (const secret of SECRETS) {
    if (!secret.stored(current) || !secret.kept(patch)) continue;
    const before = new Map(secret.sentTo(current).map((d) => [d.field, origin(d.url)]));
    const moved = secret.sentTo(next).find((d) => before.get(d.field) !== origin(d.url));
    if (!moved) continue;
    problems.push({
      message: `${secret.field}: send it again (or null to clear it) when ${moved.field} moves to another origin`,
      field: secret.field,
      code: "required",
    });
  }
  if (problems.length) throw new ServiceError(problems);
}
