import { generateSigningKeyPair } from "../deliver/ecdsa.ts";
import { newSfmcSignatureKey } from "../deliver/formats/sfmc.ts";
import { generateSecret } from "../deliver/sign.ts";
import type { WebhookRow } from "../store/driver.ts";
import { requireWebhook, type WebhookDeps } from "./context.ts";

// A webhook's own keys: the whsec_ secret that signs every request (Standard Webhooks), the
// ECDSA pair of the sendgrid format's signature and the sfmc format's signature key.

/** How long the old secret keeps signing beside the new one, so receivers can switch. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;

function signingKeys(): { signingPrivateKey: string; signingPublicKey: string } {
  const pair = generateSigningKeyPair();
  return { signingPrivateKey: pair.privateKeyPkcs8B64, signingPublicKey: pair.publicKeySpkiB64 };
}

/**
 * A new webhook's keys. Every webhook gets its ECDSA pair and SFMC key, so switching to the
 * sendgrid format later just works (the SFMC key, shown only at create in sfmc format, is
 * regenerated to be seen: regenerateSfmcSignatureKey).
 */
export function newWebhookKeys(): Pick<
  WebhookRow,
  "secret" | "previousSecret" | "previousSecretUntil" | "signingPrivateKey" | "signingPublicKey" | "sfmcSignatureKey"
> {
  return {
    secret: generateSecret(),
    previousSecret: null,
    previousSecretUntil: null,
    ...signingKeys(),
    sfmcSignatureKey: newSfmcSignatureKey(),
  };
}

/**
 * A new x-sfmc-ens-signature key, returned once; the old one stops signing at once, as
 * SFMC's PUT /platform/v1/ens-regenerate does.
 */
export async function regenerateSfmcSignatureKey(deps: WebhookDeps, id: string): Promise<string> {
  const w = await requireWebhook(deps, id);
  const key = newSfmcSignatureKey();
  await deps.store.webhooks.update(w.id, { sfmcSignatureKey: key, updatedAt: deps.now() });
  deps.log.info("sfmc signature key regenerated", { webhook_id: w.id });
  return key;
}

/** A new signing secret; the current one keeps signing alongside it for ROTATION_OVERLAP_MS. */
export async function rotateSecret(deps: WebhookDeps, id: string): Promise<{ secret: string; previousSecretUntil: number }> {
  const w = await requireWebhook(deps, id);
  const now = deps.now();
  const until = now + ROTATION_OVERLAP_MS;
  const secret = generateSecret();
  await deps.store.webhooks.update(w.id, { secret, previousSecret: w.secret, previousSecretUntil: until, updatedAt: now });
  deps.log.info("signing secret rotated", { webhook_id: w.id, previous_valid_until: new Date(until).toISOString() });
  return { secret, previousSecretUntil: until };
}

/** The ECDSA public key (base64 DER SPKI); webhooks from before keys were made at create get theirs on first ask. */
export async function signingPublicKey(deps: WebhookDeps, id: string): Promise<string> {
  const w = await requireWebhook(deps, id);
  if (w.signingPublicKey && w.signingPrivateKey) return w.signingPublicKey;
  const keys = signingKeys();
  await deps.store.webhooks.update(w.id, keys);
  return keys.signingPublicKey;
}
