import { describeAttempt, succeeded, type AttemptWebhook } from "../../deliver/attempt.ts";
import { sendNow } from "../../deliver/send-now.ts";
import { generateSecret } from "../../deliver/sign.ts";
import { privateTargetReason } from "../../deliver/target-guard.ts";
import { sampleEvent } from "../../events/samples.ts";
import type { WebhookRow } from "../../store/driver.ts";
import type { WebhookDeps } from "../../webhooks/context.ts";
import { REDACTED } from "../../webhooks/credentials.ts";
import { TargetUrl } from "../schemas/webhook.ts";
import { badRequest, invalidUrl } from "./errors.ts";
import { EVENT_SETTINGS, TYPES_OF_SETTING } from "./event-settings.ts";
import { oauthChange } from "./oauth.ts";
import type { EventWebhookTestRequest } from "./schemas.ts";

// POST /v3/user/webhooks/event/test: one POST of sample events, in SendGrid's format, to the
// URL given — SendGrid's "fake event notification". With the id of a webhook, it is signed
// like that webhook's deliveries (Standard Webhooks secret; ECDSA when signing is on) and
// may use its stored OAuth secret (as SendGrid does: "we will pull the secret for you"),
// but only for that webhook's own URL and token origin. The document lists one answer,
// 204; what the receiver said is logged.

/** One sample of every type a sendgrid-format webhook carries. */
function samples(host: string, now: number) {
  return EVENT_SETTINGS.flatMap((s) => TYPES_OF_SETTING[s]).map((type, index) => sampleEvent(type, { host, now, index }));
}

export async function sendTestEvents(deps: WebhookDeps, body: EventWebhookTestRequest, webhook: WebhookRow | null): Promise<void> {
  const url = body.url;
  if (!TargetUrl.safeParse(url).success) throw invalidUrl("url", url);
  if (!deps.config.security.allow_private_targets) {
    const reason = await privateTargetReason(url);
    if (reason) throw badRequest("url", `url: ${reason}`);
  }
  const sameOrigin = webhook !== null && new URL(webhook.target).origin === new URL(url).origin;
  // Another URL gets no stored credential: the secret (or its token) would go where the webhook's owner never sent it.
  const stored = sameOrigin ? webhook.authRequestDetails : null;
  const oauth = oauthChange(body, stored);
  let details = oauth.kind === "on" ? oauth.details : null;
  // oauthChange asks for the stored secret only when there is one for this origin.
  if (details && stored && details.body.client_secret === REDACTED)
    details = { ...details, body: { ...details.body, client_secret: stored.body.client_secret } };
  const target: AttemptWebhook = {
    id: webhook?.id ?? "sendgrid-test",
    target: url,
    format: "sendgrid",
    secret: webhook?.secret ?? generateSecret(),
    previousSecret: null,
    previousSecretUntil: null,
    authType: details ? "oauth2" : "none",
    authToken: null,
    authCredentials: null,
    authRequestDetails: details,
    customHeaders: null,
    signingPrivateKey: webhook?.ecdsaSigned ? webhook.signingPrivateKey : null,
    ecdsaSigned: webhook?.ecdsaSigned ?? false,
  };
  const now = deps.now();
  const { batchId, result } = await sendNow(deps.attempt, target, { events: samples(deps.hostname, now) }, now);
  const fields = { webhook_id: webhook?.id ?? null, target: new URL(url).origin, batch_id: batchId };
  if (succeeded(result)) deps.log.info("SendGrid API test POST delivered", fields);
  else deps.log.warn("SendGrid API test POST failed", { ...fields, error: describeAttempt(result) });
}
