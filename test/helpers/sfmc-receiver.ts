// A receiver's check of x-sfmc-ens-signature, written from Salesforce's "Notification Signing"
// page (developer.salesforce.com …/guide/ens-notification-signing), not from hookd's signer:
//   1. receive the notification: its payload (the body, as received) and the
//      x-sfmc-ens-signature header;
//   2. base64-decode the signature;
//   3. create an HMAC-SHA256 signature of the payload with the callback's signature key;
//   4. compare the two; equal means Marketing Cloud sent it.
// The page does not say how the key's text becomes the HMAC key's bytes. SFMC hands keys out
// as base64 of 32 bytes (createCallback's example "V27FXfqI3DnhfQW1bhFDeJixpt8eDAY5R24UJI3cK6M="),
// and receivers written for SFMC decode it (Prismatic's SFMC connector and others:
// Buffer.from(signatureKey, "base64")), so this one does. WebCrypto, not node:crypto, so
// nothing is shared with the signer.

const bytes = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

export async function sfmcReceiverAccepts(n: {
  body: Uint8Array | string;
  signature: string | undefined;
  signatureKey: string;
}): Promise<boolean> {
  if (!n.signature || !n.signatureKey) return false;
  let received: Uint8Array<ArrayBuffer>;
  try {
    received = bytes(n.signature); // step 2
  } catch {
    return false; // not base64
  }
  const key = await crypto.subtle.importKey("raw", bytes(n.signatureKey), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const payload = typeof n.body === "string" ? new TextEncoder().encode(n.body) : new Uint8Array(n.body);
  // Steps 3 and 4 at once: WebCrypto computes the HMAC and compares it in constant time.
  return crypto.subtle.verify("HMAC", key, received, payload);
}
