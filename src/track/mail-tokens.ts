import { createHmac, timingSafeEqual } from "node:crypto";
import { verifyingKey, type Keyring, type TrackingKey } from "./keyring.ts";
import type { TokenError } from "./tokens.ts";

// The tokens in the addresses hookd puts into tracked mail (mail/addresses.ts): the VERP
// envelope sender bounces+<token>@<verp domain> (kind "bounce") and the List-Unsubscribe
// mailto unsubscribe+<token>@<verp domain> (kind "unsubscribe"). Signed with the tracking
// keyring, verified without reading anything but the ring.
//
// Why not the link tokens: an address's local part holds at most 64 octets (RFC 5321
// §4.5.3.1.1), and MTAs and mailbox providers may change its case (Exim lower-cases local
// parts unless a router is caseful; a remote MTA's bounce may too). So a mail token names
// only the tracked_messages row (`ref`) where the message and its recipient are stored — host,
// queue id, Message-ID, recipient, sender and campaign — and is written in lower-case base32
// (RFC 4648 alphabet, no padding), which survives any case change.
//
// Layout (then base32):
//   byte 0     version (high 4 bits, = 2; link tokens are version 1) | kind (0 bounce, 1 unsubscribe)
//   byte 1     key id (0–255)
//   ref        LEB128, shortest form
//   last 16    HMAC-SHA256(key, "hookd mail token" NUL, everything before) truncated to 128 bits
// A ref below 2^21 (two million tracked messages) gives 21 bytes = 34 characters:
// "unsubscribe+" and the token stay well under 64 (at most 54 with any ref).

export const MAIL_TOKEN_KINDS = ["bounce", "unsubscribe"] as const;
export type MailTokenKind = (typeof MAIL_TOKEN_KINDS)[number];

const VERSION = 2;
const TAG_BYTES = 16;
const DOMAIN = Buffer.from("hookd mail token\0");
const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
/** 2 header bytes, ref of 1–8 bytes, the tag. */
const MIN_BYTES = 2 + 1 + TAG_BYTES;
const MAX_BYTES = 2 + 8 + TAG_BYTES;
const MAX_CHARS = Math.ceil((MAX_BYTES * 8) / 5);

/** The token for the row `ref`, signed with `key`. */
export function signMailToken(kind: MailTokenKind, ref: number, key: TrackingKey): string {
  if (!Number.isSafeInteger(ref) || ref < 0) throw new RangeError(`mail token: ref must be a non-negative integer, got ${ref}`);
  const body = Buffer.concat([Buffer.from([(VERSION << 4) | MAIL_TOKEN_KINDS.indexOf(kind), key.id]), varint(ref)]);
  return base32(Buffer.concat([body, tagOf(key.secret, body)]));
}

/** The row a token of `kind` names, or why it does not verify. Case does not matter. */
export function verifyMailToken(kind: MailTokenKind, token: string, ring: Keyring, nowSec: number): { ref: number } | TokenError {
  if (token.length > MAX_CHARS) return { error: "malformed", message: `length ${token.length} is over ${MAX_CHARS}` };
  const bytes = unbase32(token.toLowerCase());
  if (!bytes) return { error: "malformed", message: "not canonical base32" };
  if (bytes.length < MIN_BYTES) return { error: "malformed", message: "too short" };
  if (bytes[0]! >> 4 !== VERSION) return { error: "unsupported_version", message: `version ${bytes[0]! >> 4}` };
  if ((bytes[0]! & 0x0f) !== MAIL_TOKEN_KINDS.indexOf(kind)) return { error: "invalid_field", message: `not a ${kind} token` };
  const key = verifyingKey(ring, bytes[1]!, nowSec);
  if (key === undefined) return { error: "unknown_key", message: `no key ${bytes[1]}` };
  if (key === "retired") return { error: "retired_key", message: `key ${bytes[1]} has retired` };
  const body = bytes.subarray(0, bytes.length - TAG_BYTES);
  if (!timingSafeEqual(tagOf(key.secret, body), bytes.subarray(bytes.length - TAG_BYTES)))
    return { error: "bad_signature", message: "tag does not match" };
  const ref = readVarint(body.subarray(2));
  return ref === null ? { error: "invalid_field", message: "ref is not one shortest-form number" } : { ref };
}

export const signVerpToken = (ref: number, key: TrackingKey): string => signMailToken("bounce", ref, key);
export const verifyVerpToken = (token: string, ring: Keyring, nowSec: number) => verifyMailToken("bounce", token, ring, nowSec);

function tagOf(secret: Uint8Array, body: Uint8Array): Buffer {
  return createHmac("sha256", secret).update(DOMAIN).update(body).digest().subarray(0, TAG_BYTES);
}

function base32(bytes: Uint8Array): string {
  let out = "";
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}

/** Lower-case base32 → bytes; null when a character is outside the alphabet or the spare bits are not 0. */
function unbase32(text: string): Buffer | null {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of text) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) return null;
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 255);
    }
    acc &= (1 << bits) - 1;
  }
  // What is left must be fewer than 8 bits (no character of padding alone) and all zero.
  if (bits >= 5 || acc !== 0) return null;
  return Buffer.from(out);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 128) {
    out.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** The one number that fills `b` exactly, in shortest form; null otherwise. */
function readVarint(b: Uint8Array): number | null {
  let n = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) {
    const byte = b[i]!;
    n += (byte & 127) * scale;
    scale *= 128;
    if (byte < 128) {
      if (i !== b.length - 1 || (byte === 0 && i > 0) || !Number.isSafeInteger(n)) return null;
      return n;
    }
  }
  return null;
}
