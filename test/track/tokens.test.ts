import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import {
  generateKey,
  keyringFromStored,
  keyringToStored,
  newKeyring,
  rotateKeyring,
  type Keyring,
  type TrackingKey,
} from "../../src/track/keyring.ts";
import { messageLinks } from "../../src/track/links.ts";
import { isTokenError, signToken, TokenPayloadError, verifyToken, type TokenPayload } from "../../src/track/tokens.ts";

const NOW = 1_780_000_000; // unix seconds
const key: TrackingKey = { id: 7, secret: new Uint8Array(32).fill(1) };
const ring: Keyring = { currentId: 7, keys: [key] };

const full: TokenPayload = {
  kind: "click",
  issuedAt: NOW - 60,
  host: "mx1.example.com",
  queueId: "4BCD21C03F2",
  messageId: "20261123130709.4BCD2@example.com",
  rcpt: "alice@example.org",
  ref: 2 ** 40 + 5,
  url: "https://shop.example.com/sale?cat=shoes&sort=price#top",
};

function errorOf(token: string, r: Keyring = ring, now = NOW): string | null {
  const v = verifyToken(token, r, now);
  return isTokenError(v) ? v.error : null;
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

describe("round trip", () => {
  test("every kind, every field, and the fewest fields", () => {
    for (const p of [
      full,
      { ...full, kind: "open", url: undefined },
      { ...full, kind: "unsubscribe", url: undefined },
      { kind: "open", issuedAt: 0, ref: 0 },
      { kind: "click", issuedAt: 0xffffffff, messageId: "<ü@example.com>", url: "http://e.example/" },
    ] as TokenPayload[]) {
      const expected = Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined));
      expect(verifyToken(signToken(p, key), ring, NOW)).toEqual(expected as TokenPayload);
    }
  });

  test("signing is deterministic and the URL is signed in its canonical form", () => {
    expect(signToken(full, key)).toBe(signToken(full, key));
    const t = signToken({ ...full, url: "HTTPS://Shop.Example.com/a b" }, key);
    expect((verifyToken(t, ring, NOW) as TokenPayload).url).toBe("https://shop.example.com/a%20b");
  });
});

describe("the rewrite's shortcut: a URL said to be canonical is not parsed again", () => {
  test("a canonical one verifies; one that was not (a caller's mistake) gives a link that fails, never another destination", () => {
    const links = messageLinks({ baseUrl: "https://t.example.com", key, issuedAt: NOW, message: { queueId: "Q1" } });
    const token = (u: string) => u.slice("https://t.example.com/c/".length);
    const good = verifyToken(token(links.clickUrl("https://shop.example.com/a?b=1", true)), ring, NOW);
    expect(isTokenError(good) ? good.error : good.url).toBe("https://shop.example.com/a?b=1");
    expect(errorOf(token(links.clickUrl("https://Shop.Example.com/a b", true)))).toBe("invalid_field");
    expect(errorOf(token(links.clickUrl("HTTPS://Shop.Example.com/b")))).toBeNull(); // without the shortcut: canonicalised
  });
});

describe("tampering", () => {
  const token = signToken(full, key);

  test("changing any one character fails", () => {
    let tried = 0;
    for (let i = 0; i < token.length; i++) {
      for (const c of B64URL) {
        if (c === token[i]) continue;
        const altered = token.slice(0, i) + c + token.slice(i + 1);
        expect([i, errorOf(altered)]).not.toEqual([i, null]);
        tried++;
      }
    }
    expect(tried).toBe(token.length * 63);
  });

  test("every truncation and extension fails", () => {
    for (let n = 0; n < token.length; n++) expect(errorOf(token.slice(0, n))).not.toBeNull();
    for (const tail of ["A", "AA", "AAA", "AAAA", "_", token]) expect(errorOf(token + tail)).not.toBeNull();
    expect(errorOf(`${token}=`)).toBe("malformed");
    expect(errorOf(`${token.slice(0, 10)}.${token.slice(11)}`)).toBe("malformed");
  });

  test("a click whose destination was swapped fails, even keeping length and tag", () => {
    const bytes = Buffer.from(token, "base64url");
    const at = bytes.indexOf(Buffer.from("shop.example.com"));
    expect(at).toBeGreaterThan(0);
    bytes.set(Buffer.from("evil.example.com"), at);
    expect(errorOf(bytes.toString("base64url"))).toBe("bad_signature");
    // Another click token's URL with this token's tag: also no.
    const other = Buffer.from(signToken({ ...full, url: "https://evil.example/" }, key), "base64url");
    const spliced = Buffer.concat([other.subarray(0, other.length - 16), bytes.subarray(bytes.length - 16)]);
    expect(errorOf(spliced.toString("base64url"))).toBe("bad_signature");
  });

  test("a forged token (a key we do not have, random bytes) fails", () => {
    const forged = signToken(full, { id: 7, secret: new Uint8Array(32).fill(2) });
    expect(errorOf(forged)).toBe("bad_signature");
    const random = Buffer.from(crypto.getRandomValues(new Uint8Array(60)));
    random[0] = 0x11;
    random[1] = 7;
    expect(errorOf(random.toString("base64url"))).toBe("bad_signature");
  });

  test("a token of an unknown key id, another version, or an open token's kind changed to click", () => {
    expect(errorOf(signToken(full, { ...key, id: 8 }))).toBe("unknown_key");
    const bytes = Buffer.from(token, "base64url");
    bytes[0] = 0x21;
    expect(errorOf(bytes.toString("base64url"))).toBe("unsupported_version");
    const open = Buffer.from(signToken({ ...full, kind: "open", url: undefined }, key), "base64url");
    open[0] = 0x11;
    expect(errorOf(open.toString("base64url"))).toBe("bad_signature");
  });
});

describe("fields are validated even under a good signature", () => {
  // Bodies built by hand to the documented layout and signed with the ring's key: only the
  // field checks stand between them and a payload.
  function signed(body: number[]): string {
    const b = Uint8Array.from(body);
    const tag = createHmac("sha256", key.secret).update(b).digest().subarray(0, 16);
    return Buffer.concat([b, tag]).toString("base64url");
  }
  const header = (kind: number, flags: number) => [0x10 | kind, 7, 0x6a, 0x18, 0x2b, 0x00, flags];
  const str = (s: string | number[]) => {
    const bytes = typeof s === "string" ? [...Buffer.from(s)] : s;
    return [bytes.length, ...bytes];
  };

  test("a well-formed hand-made body verifies (the layout is as documented)", () => {
    expect(verifyToken(signed([...header(1, 2 | 32 | 64), ...str("Q1"), ...str("e.example/")]), ring, NOW)).toEqual({
      kind: "click",
      issuedAt: 0x6a182b00,
      queueId: "Q1",
      url: "https://e.example/",
    });
  });

  test.each([
    ["a URL that is not canonical", [...header(1, 2 | 32 | 64), ...str("Q1"), ...str("E.example/")]],
    ["a URL with a line break (header injection)", [...header(1, 2 | 32), ...str("Q1"), ...str("e.example/\r\nSet-Cookie: a=b")]],
    ["a URL that is not a URL", [...header(1, 2 | 32), ...str("Q1"), ...str("javascript:alert(1)")]],
    ["a click without URL", [...header(1, 2), ...str("Q1")]],
    ["an open with a URL", [...header(0, 2 | 32), ...str("Q1"), ...str("e.example/")]],
    ["an unknown kind", [...header(3, 2), ...str("Q1")]],
    ["a reserved flag", [...header(0, 2 | 128), ...str("Q1")]],
    ["the https flag without a URL", [...header(0, 2 | 64), ...str("Q1")]],
    ["no message named", [...header(0, 1), ...str("mx1")]],
    ["bytes after the last field", [...header(0, 2), ...str("Q1"), 0]],
    ["a string past the end", [...header(0, 2), 9, 65]],
    ["a string that is not UTF-8", [...header(0, 4), ...str([0xc3, 0x28])]],
    ["a queue id with a space", [...header(0, 2), ...str("Q 1")]],
    ["a recipient that is not an address", [...header(0, 2 | 8), ...str("Q1"), ...str("alice")]],
    ["a host with a control character", [...header(0, 1 | 2), ...str("mx\u0001"), ...str("Q1")]],
    ["an empty message-id", [...header(0, 4), ...str("")]],
    ["a number not in its shortest form", [...header(0, 16), 0x81, 0x00]],
    ["a number past 2^53", [...header(0, 16), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]],
  ])("%s", (_, body) => {
    expect(errorOf(signed(body as number[]))).toBe("invalid_field");
  });
});

describe("signing refuses what verification would refuse", () => {
  test.each([
    ["an ftp URL", { ...full, url: "ftp://e.example/" }, /url: expected an absolute http or https URL/],
    ["a relative URL", { ...full, url: "/path" }, /url/],
    ["a javascript: URL", { ...full, url: "javascript:alert(1)" }, /url/],
    ["a URL on an open", { ...full, kind: "open" }, /only click tokens carry a URL/],
    ["a click without URL", { ...full, url: undefined }, /needs its destination/],
    ["no message", { kind: "open", issuedAt: NOW, host: "mx1" }, /must name its message/],
    ["a message-id with CRLF", { ...full, messageId: "a\r\nb@x" }, /messageId/],
    ["a recipient with angle brackets", { ...full, rcpt: "<alice@example.org>" }, /rcpt/],
    ["a long queue id", { ...full, queueId: "Q".repeat(65) }, /queueId/],
    ["a 9 KB URL", { ...full, url: `https://e.example/${"a".repeat(9000)}` }, /longer than 8192/],
    ["a negative ref", { ...full, ref: -1 }, /ref/],
    ["a lone surrogate", { ...full, messageId: "a\uD800@x" }, /messageId/],
    ["issuedAt in milliseconds", { ...full, issuedAt: Date.now() * 1000 }, /issuedAt/],
  ])("%s", (_, payload, message) => {
    expect(() => signToken(payload as TokenPayload, key)).toThrow(TokenPayloadError);
    expect(() => signToken(payload as TokenPayload, key)).toThrow(message);
  });
});

describe("rotation", () => {
  test("the old key verifies until its time, then retires; the new key signs", () => {
    const r0 = newKeyring();
    const old = signToken(full, r0.keys[0]!);
    const r1 = rotateKeyring(r0, { nowSec: NOW, verifyForSec: 30 * 86400 });
    expect(r1.currentId).toBe(1);
    const fresh = signToken(full, r1.keys.find((k) => k.id === r1.currentId)!);
    expect(errorOf(old, r1, NOW + 30 * 86400 - 1)).toBeNull();
    expect(errorOf(old, r1, NOW + 30 * 86400)).toBe("retired_key");
    expect(errorOf(fresh, r1, NOW + 400 * 86400)).toBeNull();
    // Rotating again later drops the retired key: its tokens are then of an unknown key.
    const r2 = rotateKeyring(r1, { nowSec: NOW + 31 * 86400, verifyForSec: 86400 });
    expect(r2.keys.map((k) => k.id)).toEqual([1, 2]);
    expect(errorOf(old, r2, NOW + 31 * 86400)).toBe("unknown_key");
    expect(errorOf(fresh, r2, NOW + 31 * 86400 + 86399)).toBeNull();
  });

  test("key ids wrap past 255 and skip ids still in use", () => {
    let r: Keyring = { currentId: 255, keys: [{ ...generateKey(0), retiresAt: NOW + 10 }, generateKey(255)] };
    r = rotateKeyring(r, { nowSec: NOW, verifyForSec: 60 });
    expect(r.currentId).toBe(1);
  });

  test("the stored form round-trips and bad stored data names its field", () => {
    const r = rotateKeyring(newKeyring(), { nowSec: NOW, verifyForSec: 60 });
    const back = keyringFromStored(JSON.parse(JSON.stringify(keyringToStored(r))));
    expect(back).toEqual(r);
    expect(() => keyringFromStored({ current_id: 3, keys: keyringToStored(r).keys })).toThrow(/current_id/);
    expect(() => keyringFromStored({ current_id: 0, keys: [{ id: 0, secret: "short" }] })).toThrow(/base64url/);
  });
});

describe("lengths", () => {
  const base = "https://t.example.com";
  const message = { host: "mx1.example.com", queueId: "4BCD21C03F2", rcpt: "alice.smith@example.org", ref: 123_456 };

  test("a click link for a 200-character URL stays under 400 characters", () => {
    const url = `https://shop.example.com/products/spring-collection?${"utm_source=newsletter&utm_medium=email&".repeat(3)}`.padEnd(
      200,
      "x",
    );
    expect(url.length).toBe(200);
    const links = messageLinks({ baseUrl: base, key, issuedAt: NOW, message });
    const link = links.clickUrl(url);
    expect(link.length).toBeLessThan(400);
    expect(links.pixelUrl.length).toBeLessThan(140);
    // With the message-id instead of the queue id (the rewrite API knows no queue id):
    const api = messageLinks({
      baseUrl: base,
      key,
      issuedAt: NOW,
      message: { rcpt: message.rcpt, messageId: "<20261123130709.4BCD2@mail.example.com>" },
    });
    expect(api.clickUrl(url).length).toBeLessThan(420);
    // A link is ~4/3 of its URL plus ~130 characters: URLs up to ~1,350 give links under 2,000.
    expect(links.clickUrl(`https://e.example/${"a".repeat(1350 - 18)}`).length).toBeLessThan(2000);
  });

  test("repeated destinations are signed once", () => {
    const links = messageLinks({ baseUrl: `${base}/t/`, key, issuedAt: NOW, message });
    expect(links.clickUrl("https://e.example/")).toBe(links.clickUrl("https://e.example/"));
    expect(links.clickUrl("https://e.example/").startsWith("https://t.example.com/t/c/")).toBe(true);
  });

  test("a base_url with a query, fragment or another scheme is refused", () => {
    for (const bad of ["ftp://t.example", "https://t.example/?x=1", "https://t.example/#a", "t.example"]) {
      expect(() => messageLinks({ baseUrl: bad, key, issuedAt: NOW, message })).toThrow(/base_url/);
    }
  });
});
