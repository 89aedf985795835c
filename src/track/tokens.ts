import { createHmac, timingSafeEqual } from "node:crypto";
import { verifyingKey, type Keyring, type TrackingKey } from "./keyring.ts";

// Signed tracking tokens: what a pixel, click or unsubscribe URL carries after /o/, /c/, /u/.
// Verifying one needs no database: the token names the message itself and is signed.
//
// Layout (then base64url, no padding):
//   byte 0      version (high 4 bits, = 1) | kind (low 4 bits: 0 open, 1 click, 2 unsubscribe)
//   byte 1      key id (0–255)
//   bytes 2–5   issued at, unix seconds, big-endian
//   byte 6      which fields follow: 1 host, 2 queue id, 4 message-id, 8 recipient, 16 ref,
//               32 url, 64 url is https (else http); 128 reserved (0)
//   fields      in that order; strings as a LEB128 length + UTF-8 bytes, ref as LEB128; the url
//               without its "http://" / "https://" (the flag says which)
//   last 16     HMAC-SHA256(key, everything before) truncated to 128 bits
// 128 bits: a forger cannot compute tags, only guess them online, one request per guess;
// 2^-128 per guess needs no more margin, and every byte saved is 4/3 of a character per link.
// Binary, not JSON: a click token is its URL plus ~45–80 bytes, not twice that.

export const TOKEN_KINDS = ["open", "click", "unsubscribe"] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

export type TokenPayload = {
  kind: TokenKind;
  /** Unix seconds when the mail was tracked; machine.ts reads it for "faster than a person". */
  issuedAt: number;
  host?: string;
  queueId?: string;
  messageId?: string;
  /** Absent when one rewrite serves several recipients: the links then name the message only. */
  rcpt?: string;
  /** Row id of the message's campaign data, stored once at rewrite time. */
  ref?: number;
  /** The destination of a click, as `new URL(url).href`; only http and https. */
  url?: string;
};

export type TokenErrorCode = "malformed" | "unsupported_version" | "unknown_key" | "retired_key" | "bad_signature" | "invalid_field";
export type TokenError = { error: TokenErrorCode; message: string };

export const TAG_BYTES = 16;
const VERSION = 1;
const HEADER_BYTES = 7;
/** Longest token accepted before decoding: a click for an 8 KB URL plus every other field. */
export const MAX_TOKEN_CHARS = 12_000;
const MIN_TOKEN_CHARS = Math.ceil(((HEADER_BYTES + TAG_BYTES) * 4) / 3);

const F_HOST = 1;
const F_QUEUE = 2;
const F_MSGID = 4;
const F_RCPT = 8;
const F_REF = 16;
const F_URL = 32;
const F_HTTPS = 64;
const F_RESERVED = 128;

const LIMIT = { host: 255, queueId: 64, messageId: 998, rcpt: 320, url: 8192 } as const;
const STRING_FIELDS = [
  ["host", F_HOST],
  ["queueId", F_QUEUE],
  ["messageId", F_MSGID],
  ["rcpt", F_RCPT],
] as const;

const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export class TokenPayloadError extends Error {
  override name = "TokenPayloadError";
}

/** The token for `payload`, signed with `key`. Throws TokenPayloadError naming the bad field. */
export function signToken(payload: TokenPayload, key: TrackingKey): string {
  const { kind, url, ...message } = payload;
  return createSigner(message, key).sign(kind, url);
}

export type MessageFields = Omit<TokenPayload, "kind" | "url">;

/**
 * Signs the tokens of one message: its fields are checked and encoded once, each token then
 * costs its URL and one HMAC (a newsletter's 200 links are signed in well under a millisecond).
 * Throws TokenPayloadError naming the bad field, here or in `sign`.
 */
export function createSigner(
  message: MessageFields,
  key: TrackingKey,
): { sign(kind: TokenKind, url?: string, opts?: { canonical?: boolean }): string } {
  const problem = messageProblem(message);
  if (problem) throw new TokenPayloadError(`tracking token: ${problem}`);
  const fields = encodeFields(message);
  return {
    sign(kind, rawUrl, opts) {
      // The URL as verification will see it: serialised by the URL standard (ASCII only).
      // `canonical`: the caller has it so already (`new URL(x).href`: the rewrite), saving a
      // second parse. Trusted, not needed for safety: verification checks it again, so a URL
      // that was not canonical makes a link that answers 404, never one that goes elsewhere.
      const url = rawUrl === undefined ? undefined : opts?.canonical ? rawUrl : (canonicalUrl(rawUrl) ?? "");
      const bad = kindProblem(kind, url, true);
      if (bad) throw new TokenPayloadError(`tracking token: ${bad}`);
      const https = url?.startsWith("https://") ?? false;
      const rest = url === undefined ? null : encoder.encode(url.slice(https ? 8 : 7));
      const restLength = rest === null ? null : varint(rest.length);
      const bodyLength = HEADER_BYTES + fields.bytes.length + (rest && restLength ? restLength.length + rest.length : 0);
      const out = new Uint8Array(bodyLength + TAG_BYTES);
      out[0] = (VERSION << 4) | TOKEN_KINDS.indexOf(kind);
      out[1] = key.id;
      out[2] = message.issuedAt >>> 24;
      out[3] = (message.issuedAt >>> 16) & 255;
      out[4] = (message.issuedAt >>> 8) & 255;
      out[5] = message.issuedAt & 255;
      out[6] = fields.flags | (rest ? F_URL | (https ? F_HTTPS : 0) : 0);
      out.set(fields.bytes, HEADER_BYTES);
      if (rest && restLength) {
        out.set(restLength, HEADER_BYTES + fields.bytes.length);
        out.set(rest, HEADER_BYTES + fields.bytes.length + restLength.length);
      }
      out.set(tagOf(key.secret, out.subarray(0, bodyLength)), bodyLength);
      return Buffer.from(out.buffer).toString("base64url");
    },
  };
}

/**
 * The payload of a token signed by a key of `ring` that has not retired at `nowSec`, or why
 * not. Any changed, missing or added character fails: the base64url must be canonical (no
 * spare bits), the tag covers every byte, and decoding must use every byte exactly.
 */
export function verifyToken(token: string, ring: Keyring, nowSec: number): TokenPayload | TokenError {
  if (token.length < MIN_TOKEN_CHARS || token.length > MAX_TOKEN_CHARS) return fail("malformed", `length ${token.length} is out of range`);
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return fail("malformed", "not base64url");
  const bytes = Buffer.from(token, "base64url");
  if (bytes.toString("base64url") !== token) return fail("malformed", "not canonical base64url");
  if (bytes.length < HEADER_BYTES + TAG_BYTES) return fail("malformed", "too short");
  if (bytes[0]! >> 4 !== VERSION) return fail("unsupported_version", `version ${bytes[0]! >> 4}`);
  const keyId = bytes[1]!;
  const key = verifyingKey(ring, keyId, nowSec);
  if (key === undefined) return fail("unknown_key", `no key ${keyId}`);
  if (key === "retired") return fail("retired_key", `key ${keyId} has retired`);
  const body = bytes.subarray(0, bytes.length - TAG_BYTES);
  if (!timingSafeEqual(tagOf(key.secret, body), bytes.subarray(bytes.length - TAG_BYTES)))
    return fail("bad_signature", "tag does not match");
  return decodeBody(body);
}

export function isTokenError(v: TokenPayload | TokenError): v is TokenError {
  return "error" in v;
}

function fail(error: TokenErrorCode, message: string): TokenError {
  return { error, message };
}

function tagOf(secret: Uint8Array, body: Uint8Array): Uint8Array {
  return createHmac("sha256", secret).update(body).digest().subarray(0, TAG_BYTES);
}

/** The URL as the URL standard serialises it, or null when it is not an absolute URL. */
function canonicalUrl(url: string): string | null {
  try {
    return new URL(url).href;
  } catch {
    return null;
  }
}

/** What is wrong with a payload, or null. Both signing and verifying hold payloads to this. */
export function payloadProblem(p: TokenPayload): string | null {
  return kindProblem(p.kind, p.url) ?? messageProblem(p);
}

/** What is wrong with the fields of a message (null: a token can carry them). */
export function messageProblem(p: MessageFields): string | null {
  if (!Number.isInteger(p.issuedAt) || p.issuedAt < 0 || p.issuedAt > 0xffffffff)
    return `issuedAt: expected unix seconds, got ${p.issuedAt}`;
  if (p.host !== undefined && !text(p.host, LIMIT.host, /^[^\s\p{Cc}]+$/u))
    return `host: expected 1–${LIMIT.host} bytes without spaces or control characters`;
  if (p.queueId !== undefined && !text(p.queueId, LIMIT.queueId, /^[\x21-\x7e]+$/))
    return `queueId: expected 1–${LIMIT.queueId} printable ASCII characters`;
  if (p.messageId !== undefined && !text(p.messageId, LIMIT.messageId, /^[^\p{Cc}]+$/u))
    return `messageId: expected 1–${LIMIT.messageId} bytes without control characters`;
  if (p.rcpt !== undefined && !text(p.rcpt, LIMIT.rcpt, /^[^\s\p{Cc}@<>]+@[^\s\p{Cc}@<>]+$/u))
    return "rcpt: expected an email address like user@example.com";
  if (p.ref !== undefined && !(Number.isSafeInteger(p.ref) && p.ref >= 0)) return `ref: expected a non-negative integer, got ${p.ref}`;
  if (p.queueId === undefined && p.messageId === undefined && p.ref === undefined)
    return "a token must name its message: queueId, messageId or ref";
  return null;
}

// Only clicks carry a destination, and only an http(s) URL in its canonical form: what a
// verified token yields is exactly what was signed, so /c can never redirect anywhere else.
function kindProblem(kind: TokenKind, url: string | undefined, canonical = false): string | null {
  if (!TOKEN_KINDS.includes(kind)) return `kind: expected open, click or unsubscribe, got ${String(kind)}`;
  if (kind !== "click") return url === undefined ? null : `url: only click tokens carry a URL, not ${kind}`;
  if (url === undefined) return "url: a click token needs its destination";
  if (url.length > LIMIT.url) return `url: longer than ${LIMIT.url} characters`;
  if (!/^https?:\/\//.test(url) || (!canonical && canonicalUrl(url) !== url)) return "url: expected an absolute http or https URL";
  return null;
}

// One or more characters, within `max` UTF-8 bytes, well-formed (no lone surrogates), matching `re`.
function text(s: unknown, max: number, re: RegExp): boolean {
  return typeof s === "string" && s.length > 0 && !/[\uD800-\uDFFF]/u.test(s) && re.test(s) && encoder.encode(s).length <= max;
}

function encodeFields(m: MessageFields): { flags: number; bytes: Uint8Array } {
  let flags = 0;
  const parts: Uint8Array[] = [];
  for (const [field, flag] of STRING_FIELDS) {
    const v = m[field];
    if (v === undefined) continue;
    flags |= flag;
    parts.push(withLength(encoder.encode(v)));
  }
  if (m.ref !== undefined) {
    flags |= F_REF;
    parts.push(varint(m.ref));
  }
  return { flags, bytes: concat(parts) };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of parts) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

function decodeBody(body: Uint8Array): TokenPayload | TokenError {
  const kind = TOKEN_KINDS[body[0]! & 0x0f];
  if (!kind) return fail("invalid_field", `kind ${body[0]! & 0x0f}`);
  const flags = body[6]!;
  if (flags & F_RESERVED || (flags & F_HTTPS && !(flags & F_URL))) return fail("invalid_field", `flags ${flags}`);
  const p: TokenPayload = { kind, issuedAt: new DataView(body.buffer, body.byteOffset).getUint32(2) };
  const r = { at: HEADER_BYTES };
  try {
    for (const [field, flag] of STRING_FIELDS) if (flags & flag) p[field] = readString(body, r);
    if (flags & F_REF) p.ref = readVarint(body, r);
    if (flags & F_URL) p.url = (flags & F_HTTPS ? "https://" : "http://") + readString(body, r);
  } catch (err) {
    return fail("invalid_field", (err as Error).message);
  }
  if (r.at !== body.length) return fail("invalid_field", `${body.length - r.at} bytes after the last field`);
  const problem = payloadProblem(p);
  return problem ? fail("invalid_field", problem) : p;
}

function withLength(bytes: Uint8Array): Uint8Array {
  return concat([varint(bytes.length), bytes]);
}

// LEB128 for numbers up to 2^53: arithmetic, not bit operations, which stop at 32 bits.
function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 128) {
    out.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Uint8Array.from(out);
}

function readVarint(b: Uint8Array, r: { at: number }): number {
  let n = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    const byte = b[r.at++];
    if (byte === undefined) throw new Error("a number runs past the end");
    n += (byte & 127) * scale;
    if (byte < 128) {
      if (byte === 0 && i > 0) throw new Error("a number is not in its shortest form");
      if (!Number.isSafeInteger(n)) throw new Error("a number is too large");
      return n;
    }
    scale *= 128;
  }
  throw new Error("a number is too long");
}

function readString(b: Uint8Array, r: { at: number }): string {
  const len = readVarint(b, r);
  if (r.at + len > b.length) throw new Error("a string runs past the end");
  const bytes = b.subarray(r.at, r.at + len);
  r.at += len;
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new Error("a string is not UTF-8");
  }
}
