import type { WebhookRow } from "../store/driver.ts";
import { formatContentType, formatHeaders } from "./formats/index.ts";
import { signatureHeaders } from "./sign.ts";

export const USER_AGENT_PREFIX = "hookd/";

type Signable = Pick<
  WebhookRow,
  | "secret"
  | "previousSecret"
  | "previousSecretUntil"
  | "authType"
  | "authToken"
  | "authCredentials"
  | "customHeaders"
  | "format"
  | "signingPrivateKey"
  | "ecdsaSigned"
> &
  Partial<Pick<WebhookRow, "sfmcSignatureKey">>;

/** The secrets that sign a request now: the current one, and the previous one while a rotation overlaps. */
export function activeSecrets(w: Signable, nowMs: number): string[] {
  const secrets = [w.secret];
  if (w.previousSecret && w.previousSecretUntil !== null && w.previousSecretUntil > nowMs) secrets.push(w.previousSecret);
  return secrets;
}

/**
 * Every header of one attempt. Custom headers go first so nothing a webhook configures can
 * replace the signature or the framing (the API refuses those names too).
 */
export function requestHeaders(w: Signable, batchId: string, body: Uint8Array, nowMs: number, version: string): Record<string, string> {
  const headers: Record<string, string> = { ...(w.customHeaders ?? {}) };
  headers["content-type"] = formatContentType(w.format);
  headers["user-agent"] = USER_AGENT_PREFIX + version;
  // SparkPost sends a webhook's auth_token whatever its auth_type ("Optionally, you can
  // include an authentication token"); auth_type token only makes one required.
  if (w.authToken) headers["x-messagesystems-webhook-token"] = w.authToken;
  if (w.authType === "basic" && w.authCredentials) {
    const { username, password } = w.authCredentials;
    headers["authorization"] = "Basic " + Buffer.from(`${username}:${password}`).toString("base64");
  }
  // ecdsa_signed off (SendGrid's API): no SendGrid signature pair. Absent counts as on.
  Object.assign(
    headers,
    formatHeaders(w.format, {
      batchId,
      body,
      nowMs,
      signingPrivateKey: w.ecdsaSigned ? w.signingPrivateKey : null,
      sfmcSignatureKey: w.sfmcSignatureKey,
    }),
  );
  Object.assign(headers, signatureHeaders({ id: batchId, timestampSec: Math.floor(nowMs / 1000), body, secrets: activeSecrets(w, nowMs) }));
  return headers;
}
