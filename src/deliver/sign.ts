// Standard Webhooks signing (https://www.standardwebhooks.com): every request hookd sends
// carries webhook-id / webhook-timestamp / webhook-signature. This runs once per attempt
// on bodies up to batch_max_bytes, so it hashes the body bytes in place (no copy, no
// string concatenation of a 5 MB body) and decodes each secret only once.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

const SECRET_PREFIX = "whsec_";
// Secrets live for the life of a webhook (plus 24 h after a rotation); the cap only keeps
// a pathological churn of secrets from growing the cache without end.
const KEY_CACHE_MAX = 4096;
const keyCache = new Map<string, Buffer>();

export type SignatureHeaders = {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
};

export type SignInput = {
  id: string;
  timestampSec: number;
  body: Uint8Array | string;
  /** Current secret first; during a rotation also the previous one. */
  secrets: readonly string[];
};

/** A new signing secret: "whsec_" + base64 of 32 random bytes. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString("base64");
}

function secretKey(secret: string): Buffer {
  let key = keyCache.get(secret);
  if (key) return key;
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  key = Buffer.from(encoded, "base64");
  // A key that decodes to nothing would sign with an empty HMAC key: a receiver could
  // never tell a forged request apart, so refuse it loudly.
  if (key.length === 0) throw new Error("signing secret is empty or not base64");
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
  keyCache.set(secret, key);
  return key;
}

function sign(key: Buffer, prefix: string, body: Uint8Array | string): string {
  return createHmac("sha256", key).update(prefix).update(body).digest("base64");
}

export function signatureHeaders(input: SignInput): SignatureHeaders {
  if (input.secrets.length === 0) throw new Error("signatureHeaders needs at least one secret");
  const timestamp = String(Math.floor(input.timestampSec));
  const prefix = `${input.id}.${timestamp}.`;
  let signature = "";
  for (const secret of input.secrets) {
    signature += `${signature ? " " : ""}v1,${sign(secretKey(secret), prefix, input.body)}`;
  }
  return { "webhook-id": input.id, "webhook-timestamp": timestamp, "webhook-signature": signature };
}

/**
 * True when any v1 signature in `header` matches `secret`. No timestamp tolerance check:
 * that is a receiver's policy, and our own callers (tests, validate) know the time they sent.
 */
export function verifySignature(input: {
  id: string;
  timestampSec: number;
  body: Uint8Array | string;
  secret: string;
  header: string;
}): boolean {
  const prefix = `${input.id}.${Math.floor(input.timestampSec)}.`;
  const expected = Buffer.from(sign(secretKey(input.secret), prefix, input.body));
  for (const part of input.header.split(" ")) {
    if (!part.startsWith("v1,")) continue;
    const given = Buffer.from(part.slice(3));
    if (given.length === expected.length && timingSafeEqual(given, expected)) return true;
  }
  return false;
}
