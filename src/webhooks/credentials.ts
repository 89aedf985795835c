import { ServiceError } from "../lib/errors.ts";
import type { WebhookInsert, WebhookRow } from "../store/schema.ts";

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
    out.authRequestDetails = { ...out.authRequestDetails, body: { ...out.authRequestDetails.body, client_secret: current.authRequestDetails.body.client_secret } };
  }
  if (out.customHeaders) {
    const headers = { ...out.customHeaders };
    for (const [k, v] of Object.entries(headers)) if (v === REDACTED && current.customHeaders?.[k] !== undefined) headers[k] = current.customHeaders[k]!;
    out.customHeaders = headers;
  }
  return out;
}

/**
 * Stored credentials never follow a webhook to another origin on their own: whoever moves
 * the target must send them again (or clear them with null). Otherwise a key that may only
 * edit webhooks could point one at itself and collect the secrets views redact. Judged on
 * the change as sent, before keepRedacted fills REDACTED values in.
 */
export function requireFreshCredentials(patch: Partial<WebhookInsert>, current: WebhookRow): void {
  const origin = (u: string) => new URL(u).origin;
  if (patch.target === undefined || origin(patch.target) === origin(current.target)) return;
  const missing: string[] = [];
  if (current.authToken && (patch.authToken === undefined || patch.authToken === REDACTED)) missing.push("auth_token");
  if (current.authCredentials && (patch.authCredentials === undefined || patch.authCredentials?.password === REDACTED)) missing.push("auth_credentials");
  if (current.authRequestDetails && (patch.authRequestDetails === undefined || patch.authRequestDetails?.body.client_secret === REDACTED)) {
    missing.push("auth_request_details");
  }
  const secretHeaders = Object.keys(current.customHeaders ?? {}).filter((k) => SENSITIVE_HEADER.test(k));
  if (secretHeaders.length && (patch.customHeaders === undefined || Object.values(patch.customHeaders ?? {}).includes(REDACTED))) missing.push("custom_headers");
  if (missing.length) {
    throw new ServiceError(
      missing.map((field) => ({ message: `${field}: send it again (or null to clear it) when the target moves to another origin`, field, code: "required" as const })),
    );
  }
}
