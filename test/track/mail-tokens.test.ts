import { describe, expect, test } from "bun:test";
import { unsubscribeAddress, verpAddress } from "../../src/mail/addresses.ts";
import { rotateKeyring, type Keyring, type TrackingKey } from "../../src/track/keyring.ts";
import { signMailToken, signVerpToken, verifyMailToken, verifyVerpToken } from "../../src/track/mail-tokens.ts";
import { signToken } from "../../src/track/tokens.ts";

const NOW = 1_780_000_000;
const key: TrackingKey = { id: 7, secret: new Uint8Array(32).fill(1) };
const ring: Keyring = { currentId: 7, keys: [key] };
const errorOf = (v: { ref: number } | { error: string }) => ("error" in v ? v.error : null);

describe("VERP and unsubscribe-address tokens", () => {
  test("round trip for every size of ref, both kinds", () => {
    for (const ref of [0, 1, 127, 128, 2 ** 21, 2 ** 35 + 3, Number.MAX_SAFE_INTEGER]) {
      expect(verifyVerpToken(signVerpToken(ref, key), ring, NOW)).toEqual({ ref });
      expect(verifyMailToken("unsubscribe", signMailToken("unsubscribe", ref, key), ring, NOW)).toEqual({ ref });
    }
  });

  test("lower-case base32, and an address's local part stays within 64 octets whatever the ref", () => {
    for (const ref of [1, 2 ** 21, Number.MAX_SAFE_INTEGER]) {
      const t = signMailToken("unsubscribe", ref, key);
      expect(t).toMatch(/^[a-z2-7]+$/);
      const local = unsubscribeAddress(t, "bounces.example.com").split("@")[0]!;
      expect(local.length).toBeLessThanOrEqual(64);
      expect(verpAddress(signVerpToken(ref, key), "bounces.example.com").split("@")[0]!.length).toBeLessThanOrEqual(64);
    }
    // a million tracked messages in: 34 characters
    expect(signVerpToken(1_000_000, key).length).toBe(34);
  });

  test("case does not matter: an MTA that upper- or lower-cases the local part changes nothing", () => {
    const t = signVerpToken(4242, key);
    expect(verifyVerpToken(t.toUpperCase(), ring, NOW)).toEqual({ ref: 4242 });
    expect(verifyVerpToken(t.slice(0, 5).toUpperCase() + t.slice(5), ring, NOW)).toEqual({ ref: 4242 });
  });

  test("any changed, missing or added character fails; so does a token of the other kind or a link token", () => {
    const t = signVerpToken(4242, key);
    const other = (c: string) => (c === "a" ? "b" : "a");
    for (let i = 0; i < t.length; i++) {
      expect(errorOf(verifyVerpToken(t.slice(0, i) + other(t[i]!) + t.slice(i + 1), ring, NOW))).not.toBeNull();
    }
    expect(errorOf(verifyVerpToken(t.slice(0, -1), ring, NOW))).not.toBeNull();
    expect(errorOf(verifyVerpToken(t + "a", ring, NOW))).not.toBeNull();
    expect(errorOf(verifyVerpToken(signMailToken("unsubscribe", 4242, key), ring, NOW))).toBe("invalid_field");
    expect(errorOf(verifyMailToken("unsubscribe", t, ring, NOW))).toBe("invalid_field");
    expect(errorOf(verifyVerpToken("", ring, NOW))).toBe("malformed");
    expect(errorOf(verifyVerpToken("bounces+x", ring, NOW))).toBe("malformed");
    const link = signToken({ kind: "open", issuedAt: NOW, ref: 4242 }, key);
    expect(errorOf(verifyVerpToken(link, ring, NOW))).not.toBeNull();
  });

  test("another key's token does not verify; a rotated-out key verifies until it retires", () => {
    const stranger: TrackingKey = { id: 7, secret: new Uint8Array(32).fill(2) };
    expect(errorOf(verifyVerpToken(signVerpToken(1, stranger), ring, NOW))).toBe("bad_signature");
    expect(errorOf(verifyVerpToken(signVerpToken(1, { ...key, id: 9 }), ring, NOW))).toBe("unknown_key");
    const rotated = rotateKeyring(ring, { nowSec: NOW, verifyForSec: 60 });
    const old = signVerpToken(5, key);
    expect(verifyVerpToken(old, rotated, NOW + 59)).toEqual({ ref: 5 });
    expect(errorOf(verifyVerpToken(old, rotated, NOW + 60))).toBe("retired_key");
  });

  test("a ref that is not a non-negative integer cannot be signed", () => {
    expect(() => signVerpToken(-1, key)).toThrow(/ref/);
    expect(() => signVerpToken(1.5, key)).toThrow(/ref/);
  });
});
