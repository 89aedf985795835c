import type { WebhookRow } from "../../store/driver.ts";
import { REDACTED } from "../../webhooks/credentials.ts";
import type { AuthRequestDetails } from "../../webhooks/model.ts";
import { TargetUrl } from "../schemas/webhook.ts";
import { badRequest, invalidUrl } from "./errors.ts";
import type { OAuthFields } from "./schemas.ts";

// SendGrid's three OAuth fields ⇄ hookd's auth_type oauth2 + auth_request_details. The
// document's rules: the client id and the token URL come together; the secret needs both;
// once stored the secret need not be sent again (it is never read back); empty strings for
// all three turn OAuth off. One rule of hookd's on top: a stored secret is only reused for
// a token URL on the same origin — otherwise whoever may edit webhooks could point the
// token URL at themselves and receive it.

export type OAuthChange = { kind: "unchanged" } | { kind: "off" } | { kind: "on"; details: AuthRequestDetails };

const given = (v: string | null | undefined) => (v === undefined ? undefined : (v ?? "").trim());
// hookd's views show secrets as REDACTED; sent back, it means "the stored one", never a new secret.
const givenSecret = (v: string | null | undefined) => (given(v) === REDACTED ? "" : given(v));
const origin = (url: string) => new URL(url).origin;

/** What the body asks of the webhook's OAuth; `stored` is the webhook's current details (null: none, or a new webhook). */
export function oauthChange(body: OAuthFields, stored: AuthRequestDetails | null): OAuthChange {
  const clientId = given(body.oauth_client_id);
  const secret = givenSecret(body.oauth_client_secret);
  const tokenUrl = given(body.oauth_token_url);
  if (clientId === undefined && secret === undefined && tokenUrl === undefined) return { kind: "unchanged" };
  if (!clientId && !tokenUrl) {
    if (secret) throw badRequest("oauth_client_secret", "oauth_client_secret needs oauth_client_id and oauth_token_url with it");
    return { kind: "off" };
  }
  if (!clientId) throw badRequest("oauth_client_id", "oauth_client_id is required with oauth_token_url");
  if (!tokenUrl) throw badRequest("oauth_token_url", "oauth_token_url is required with oauth_client_id");
  if (!TargetUrl.safeParse(tokenUrl).success) throw invalidUrl("oauth_token_url", tokenUrl);
  if (!secret) {
    if (!stored) throw badRequest("oauth_client_secret", "oauth_client_secret is required to set up OAuth");
    if (origin(stored.url) !== origin(tokenUrl)) {
      throw badRequest("oauth_client_secret", "oauth_client_secret: send it again when oauth_token_url moves to another origin");
    }
  }
  // REDACTED asks the webhook service to keep the stored secret (and to apply its own
  // rule: credentials do not follow the webhook's url to another origin).
  return { kind: "on", details: { url: tokenUrl, body: { client_id: clientId, client_secret: secret || REDACTED } } };
}

/** The OAuth a webhook has as SendGrid shows it: id and token URL, never the secret; nothing without OAuth. */
export function oauthView(
  w: Pick<WebhookRow, "authType" | "authRequestDetails">,
): { oauth_client_id: string; oauth_token_url: string } | null {
  if (w.authType !== "oauth2" || !w.authRequestDetails) return null;
  return { oauth_client_id: w.authRequestDetails.body.client_id, oauth_token_url: w.authRequestDetails.url };
}
