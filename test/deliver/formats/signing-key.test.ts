// src/deliver/ecdsa.ts: the per-webhook key pair of the `sendgrid` format.
import { describe, expect, test } from "bun:test";
import { createPublicKey, createVerify, generateKeyPairSync } from "node:crypto";
import { EventWebhook } from "@sendgrid/eventwebhook";
import { generateSigningKeyPair, publicKeyOf, twilioSignatureHeaders } from "../../../src/deliver/ecdsa.ts";

const SIG = "X-Twilio-Email-Event-Webhook-Signature";
const TS = "X-Twilio-Email-Event-Webhook-Timestamp";

describe("generateSigningKeyPair", () => {
  test("a P-256 pair: public key base64 DER SPKI, different each time", () => {
    const a = generateSigningKeyPair();
    const pub = createPublicKey({ key: Buffer.from(a.publicKeySpkiB64, "base64"), format: "der", type: "spki" });
    expect(pub.asymmetricKeyType).toBe("ec");
    expect(pub.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(Buffer.from(a.publicKeySpkiB64, "base64").length).toBe(91);
    expect(publicKeyOf(a.privateKeyPkcs8B64)).toBe(a.publicKeySpkiB64);
    expect(generateSigningKeyPair().publicKeySpkiB64).not.toBe(a.publicKeySpkiB64);
  });
});

describe("twilioSignatureHeaders", () => {
  const keys = generateSigningKeyPair();
  const body = '[{"email":"zoë@example.com","event":"delivered"}]';

  test("base64 DER ECDSA-SHA256 over timestamp + body, checked with node:crypto and SendGrid's library", () => {
    const h = twilioSignatureHeaders({ privateKeyPkcs8B64: keys.privateKeyPkcs8B64, timestampSec: 1795439229.9, body });
    expect(h[TS]).toBe("1795439229");
    const der = Buffer.from(h[SIG], "base64");
    expect(der[0]).toBe(0x30); // a DER SEQUENCE, not a raw r||s pair
    const pub = createPublicKey({ key: Buffer.from(keys.publicKeySpkiB64, "base64"), format: "der", type: "spki" });
    expect(
      createVerify("sha256")
        .update("1795439229" + body)
        .verify(pub, der),
    ).toBe(true);
    const ew = new EventWebhook();
    expect(ew.verifySignature(ew.convertPublicKeyToECDSA(keys.publicKeySpkiB64), body, h[SIG], h[TS])).toBe(true);
  });

  test("bytes and string bodies verify alike", () => {
    const h = twilioSignatureHeaders({
      privateKeyPkcs8B64: keys.privateKeyPkcs8B64,
      timestampSec: 1,
      body: new TextEncoder().encode(body),
    });
    const ew = new EventWebhook();
    expect(ew.verifySignature(ew.convertPublicKeyToECDSA(keys.publicKeySpkiB64), body, h[SIG], h[TS])).toBe(true);
  });

  test("refuses a key that is not ECDSA P-256, and garbage", () => {
    const ed = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "der" }).toString("base64");
    expect(() => twilioSignatureHeaders({ privateKeyPkcs8B64: ed, timestampSec: 1, body })).toThrow(/P-256/);
    const p384 = generateKeyPairSync("ec", { namedCurve: "secp384r1" })
      .privateKey.export({ type: "pkcs8", format: "der" })
      .toString("base64");
    expect(() => twilioSignatureHeaders({ privateKeyPkcs8B64: p384, timestampSec: 1, body })).toThrow(/P-256/);
    expect(() => twilioSignatureHeaders({ privateKeyPkcs8B64: "bm90IGEga2V5", timestampSec: 1, body })).toThrow();
  });
});
