import { describe, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { generateSecret, signatureHeaders, verifySignature } from "../../src/deliver/sign.ts";

const body = JSON.stringify([{ event_id: "01J0", type: "delivery", rcpt_to: "zoë@example.com" }]);
const nowSec = () => Math.floor(Date.now() / 1000);

describe("generateSecret", () => {
  test("whsec_ + base64 of 32 random bytes, different each time", () => {
    const a = generateSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.slice(6), "base64").length).toBe(32);
    expect(generateSecret()).not.toBe(a);
  });
});

describe("signatureHeaders", () => {
  test("one secret: verifies with the standardwebhooks reference library", () => {
    const secret = generateSecret();
    const headers = signatureHeaders({ id: "msg_1", timestampSec: nowSec(), body, secrets: [secret] });
    expect(headers["webhook-id"]).toBe("msg_1");
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  test("bytes and string bodies sign identically (UTF-8)", () => {
    const secret = generateSecret();
    const ts = nowSec();
    const fromString = signatureHeaders({ id: "m", timestampSec: ts, body, secrets: [secret] });
    const fromBytes = signatureHeaders({ id: "m", timestampSec: ts, body: new TextEncoder().encode(body), secrets: [secret] });
    expect(fromBytes).toEqual(fromString);
  });

  test("a fractional timestamp is sent and signed as whole seconds", () => {
    const secret = generateSecret();
    const ts = nowSec();
    const headers = signatureHeaders({ id: "m", timestampSec: ts + 0.9, body, secrets: [secret] });
    expect(headers["webhook-timestamp"]).toBe(String(ts));
    expect(new Webhook(secret).verify(body, headers)).toBeTruthy();
  });

  test("rotation: two signatures, each secret alone verifies the header", () => {
    const next = generateSecret();
    const previous = generateSecret();
    const headers = signatureHeaders({ id: "msg_2", timestampSec: nowSec(), body, secrets: [next, previous] });
    const parts = headers["webhook-signature"].split(" ");
    expect(parts).toHaveLength(2);
    expect(parts[0]).not.toBe(parts[1]);
    expect(new Webhook(next).verify(body, headers)).toBeTruthy();
    expect(new Webhook(previous).verify(body, headers)).toBeTruthy();
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow();
  });

  test("an altered body, id or timestamp fails verification", () => {
    const secret = generateSecret();
    const ts = nowSec();
    const headers = signatureHeaders({ id: "msg_3", timestampSec: ts, body, secrets: [secret] });
    const wh = new Webhook(secret);
    expect(() => wh.verify(body.replace("delivery", "bounce"), headers)).toThrow();
    expect(() => wh.verify(body, { ...headers, "webhook-id": "msg_4" })).toThrow();
    expect(() => wh.verify(body, { ...headers, "webhook-timestamp": String(ts - 1) })).toThrow();
  });

  test("refuses no secrets and an empty key", () => {
    expect(() => signatureHeaders({ id: "m", timestampSec: 1, body, secrets: [] })).toThrow();
    expect(() => signatureHeaders({ id: "m", timestampSec: 1, body, secrets: ["whsec_"] })).toThrow();
  });
});

describe("verifySignature", () => {
  test("accepts any matching v1 signature, rejects other secrets and bodies", () => {
    const [a, b] = [generateSecret(), generateSecret()];
    const h = signatureHeaders({ id: "m", timestampSec: 1700000000, body, secrets: [a, b] });
    const check = (secret: string, text = body) =>
      verifySignature({ id: "m", timestampSec: 1700000000, body: text, secret, header: h["webhook-signature"] });
    expect(check(a)).toBe(true);
    expect(check(b)).toBe(true);
    expect(check(generateSecret())).toBe(false);
    expect(check(a, body + " ")).toBe(false);
  });

  test("agrees with signatures made by the reference library", () => {
    const secret = generateSecret();
    const ts = 1700000000;
    const header = new Webhook(secret).sign("msg_9", new Date(ts * 1000), body);
    expect(verifySignature({ id: "msg_9", timestampSec: ts, body, secret, header })).toBe(true);
    expect(verifySignature({ id: "msg_9", timestampSec: ts, body, secret, header: "v2," + header.slice(3) })).toBe(false);
  });
});
