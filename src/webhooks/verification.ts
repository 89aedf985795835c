import { describeAttempt, succeeded, type AttemptWebhook } from "../deliver/attempt.ts";
import { sfmcVerificationProbe } from "../deliver/formats/sfmc.ts";
import { sendNow } from "../deliver/send-now.ts";
import { dnsTxtPublished, handshakeMatches, newDnsToken, newHandshake, sendHandshake, TXT_PREFIX, txtNames } from "../deliver/verify.ts";
import { ServiceError } from "../lib/errors.ts";
import type { WebhookInsert, WebhookRow } from "../store/driver.ts";
import { requireWebhook, webhookNotFound, type WebhookDeps } from "./context.ts";
import { verifiedDomainFor } from "./domains.ts";
import { testSamples } from "./test-samples.ts";

// How a target proves it wants the events (model.ts: isVerified): test_post passes or fails
// at once, none needs nothing, handshake and dns_txt begin here and complete later.

export type TxtRecord = { names: string[]; value: string };
/** What the owner must do next, for handshake and dns_txt. */
export type PendingVerification = { type: "handshake" | "dns_txt"; txtRecord?: TxtRecord };

type Verifiable = AttemptWebhook & Pick<WebhookRow, "verification" | "events">;
type VerificationPatch = Pick<WebhookInsert, "verificationState" | "verifiedAt">;

/**
 * Starts the target's proof of consent and returns what to store and what to tell the
 * owner. test_post must pass now; handshake must reach the target now; dns_txt is proved
 * already on a verified domain (/domains) and otherwise waits for its TXT record.
 */
export async function beginVerification(
  deps: WebhookDeps,
  w: Verifiable,
): Promise<{ patch: VerificationPatch; pending: PendingVerification | null }> {
  const fresh = (verificationState: Record<string, string> | null, pending: PendingVerification | null = null) => ({
    patch: { verificationState, verifiedAt: null },
    pending,
  });
  if (w.verification === "test_post") {
    await testPost(deps, w);
    return fresh(null);
  }
  if (w.verification === "none") return fresh(null);
  if (w.verification === "handshake") {
    const keys = newHandshake();
    const result = await sendHandshake(deps.attempt, w, keys, deps.now());
    if (!succeeded(result)) {
      throw new ServiceError({
        message: `handshake POST to the target failed: ${describeAttempt(result)}`,
        field: "target",
        code: "verification_failed",
      });
    }
    return fresh(keys, { type: "handshake" });
  }
  const names = txtNames(w.target);
  if (names.length === 0) {
    throw new ServiceError({
      message: "target: dns_txt verification needs a target with a domain name, not an IP address",
      field: "target",
      code: "invalid_value",
    });
  }
  if (await verifiedDomainFor(deps, w.target)) return { patch: { verificationState: null, verifiedAt: deps.now() }, pending: null };
  const token = newDnsToken();
  return fresh({ dnsToken: token }, { type: "dns_txt", txtRecord: { names, value: TXT_PREFIX + token } });
}

/**
 * The test POST: the target must answer 2xx to a signed sample of an event it subscribes to
 * (testSamples), or nothing is saved.
 */
async function testPost(deps: WebhookDeps, w: AttemptWebhook & Pick<WebhookRow, "events">) {
  const now = deps.now();
  // sfmc: what ENS sends a callback it creates, without x-sfmc-ens-signature (the receiver
  // gets the key only in create's answer); the Standard Webhooks signature is still there.
  const sent =
    w.format === "sfmc"
      ? sendNow(deps.attempt, { ...w, sfmcSignatureKey: null }, { raw: sfmcVerificationProbe(w.id) }, now)
      : sendNow(deps.attempt, w, { events: testSamples(w, { host: "hookd-test", now }) }, now);
  const { result } = await sent;
  if (succeeded(result)) return;
  throw new ServiceError({
    message: `test POST to the target failed: ${describeAttempt(result)}`,
    field: "target",
    code: "verification_failed",
  });
}

/** While dns_txt verification is pending: the TXT record to publish. */
export function pendingTxtRecord(w: Pick<WebhookRow, "target" | "verification" | "verifiedAt" | "verificationState">): TxtRecord | null {
  const token = w.verificationState?.dnsToken;
  if (w.verification !== "dns_txt" || w.verifiedAt !== null || !token) return null;
  return { names: txtNames(w.target), value: TXT_PREFIX + token };
}

/** handshake: the values hookd POSTed to the target, sent back by its owner. dns_txt: only the id. */
export type CompleteVerificationInput = { id: string; callbackKey?: string | undefined; secretToken?: string | undefined };

/**
 * Completes a pending handshake or dns_txt verification; from then on events flow. Wrong
 * values change nothing.
 */
export async function completeVerification(deps: WebhookDeps, input: CompleteVerificationInput): Promise<WebhookRow> {
  const w = await requireWebhook(deps, input.id);
  if (w.verifiedAt !== null || w.verification === "test_post" || w.verification === "none") {
    throw new ServiceError({ message: `webhook ${w.id} is not waiting for verification`, field: "id", code: "conflict" });
  }
  const state = w.verificationState ?? {};
  if (w.verification === "handshake") {
    if (!input.callbackKey || !input.secretToken) {
      throw new ServiceError({
        message: "callbackKey and secretToken are required for a handshake",
        field: input.callbackKey ? "secretToken" : "callbackKey",
        code: "required",
      });
    }
    if (!handshakeMatches(state, { callbackKey: input.callbackKey, secretToken: input.secretToken })) {
      deps.log.warn("handshake verification refused: values do not match", { webhook_id: w.id });
      throw new ServiceError({ message: "callbackKey or secretToken does not match what hookd sent", code: "verification_failed" });
    }
  } else if (!state.dnsToken || !(await dnsTxtPublished(w.target, state.dnsToken, deps.config.verification.dns_servers))) {
    throw new ServiceError({
      message: "the TXT record hookd-verification=… is not published on the target's domain yet",
      field: "target",
      code: "verification_failed",
    });
  }
  const now = deps.now();
  const saved = await deps.store.webhooks.update(w.id, { verifiedAt: now, verificationState: null, updatedAt: now });
  if (!saved) throw webhookNotFound(w.id);
  deps.log.info("webhook verified", { webhook_id: w.id, verification: w.verification });
  deps.notifyEvents();
  return saved;
}
