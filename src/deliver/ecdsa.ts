// SendGrid's Signed Event Webhook, for webhooks in `sendgrid` format: each webhook has its
// own ECDSA P-256 key pair; hookd signs `timestamp + body` with SHA-256 and sends the DER
// signature in base64 with the timestamp, and the receiver verifies with the public key
// (GET /webhooks/{id}/signing-key, base64 DER SPKI: what SendGrid's settings page shows and
// what @sendgrid/eventwebhook's convertPublicKeyToECDSA reads).
import { createPrivateKey, createPublicKey, createSign, generateKeyPairSync, type KeyObject } from "node:crypto";

export const TWILIO_SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature";
export const TWILIO_TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp";

export type SigningKeyPair = {
  /** Kept by hookd only: PKCS#8 DER, base64. */
  privateKeyPkcs8B64: string;
  /** Given to receivers: SPKI DER, base64. */
  publicKeySpkiB64: string;
};

export type TwilioSignatureHeaders = {
  [TWILIO_SIGNATURE_HEADER]: string;
  [TWILIO_TIMESTAMP_HEADER]: string;
};

// One key per webhook for the webhook's life; the cap only bounds pathological churn.
const KEY_CACHE_MAX = 4096;
const keyCache = new Map<string, KeyObject>();

export function generateSigningKeyPair(): SigningKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ec", {
    namedCurve: "prime256v1",
    publicKeyEncoding: { type: "spki", format: "der" },
    privateKeyEncoding: { type: "pkcs8", format: "der" },
  });
  return { privateKeyPkcs8B64: privateKey.toString("base64"), publicKeySpkiB64: publicKey.toString("base64") };
}

function privateKey(pkcs8B64: string): KeyObject {
  let key = keyCache.get(pkcs8B64);
  if (key) return key;
  key = createPrivateKey({ key: Buffer.from(pkcs8B64, "base64"), format: "der", type: "pkcs8" });
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new Error("signing key is not an ECDSA P-256 private key");
  }
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
  keyCache.set(pkcs8B64, key);
  return key;
}

/** The public half of a stored private key, base64 DER SPKI. */
export function publicKeyOf(privateKeyPkcs8B64: string): string {
  return createPublicKey(privateKey(privateKeyPkcs8B64)).export({ type: "spki", format: "der" }).toString("base64");
}

/**
 * The two headers SendGrid sends. The body is hashed in place after the timestamp, never
 * concatenated with it; node:crypto encodes an EC signature as DER by default.
 */
export function twilioSignatureHeaders(input: {
  privateKeyPkcs8B64: string;
  timestampSec: number;
  body: Uint8Array | string;
}): TwilioSignatureHeaders {
  const timestamp = String(Math.floor(input.timestampSec));
  const signature = createSign("sha256").update(timestamp).update(input.body).sign(privateKey(input.privateKeyPkcs8B64), "base64");
  return { [TWILIO_SIGNATURE_HEADER]: signature, [TWILIO_TIMESTAMP_HEADER]: timestamp };
}
