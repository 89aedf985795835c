// Signing throughput on the delivery hot path: signatureHeaders (one and two secrets)
// against a bare node:crypto HMAC over the same bytes, measured in the same run so the
// ratio shows our overhead rather than the machine.
//   bun bench/sign.bench.ts
import { createHmac } from "node:crypto";
import { generateSecret, signatureHeaders } from "../src/deliver/sign.ts";

const RUN_MS = 1000;

function rate(fn: () => unknown): number {
  for (let i = 0; i < 20; i++) fn(); // warm-up: JIT and the key cache
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  // Check the clock every 16 calls so timing does not dominate 1 KB runs.
  while (elapsed < RUN_MS) {
    for (let i = 0; i < 16; i++) fn();
    n += 16;
    elapsed = performance.now() - start;
  }
  return (n / elapsed) * 1000;
}

const secret = generateSecret();
const previous = generateSecret();
const key = Buffer.from(secret.slice("whsec_".length), "base64");
const id = "msg_01J9Z8X7W6V5T4S3R2Q1P0";
const ts = Math.floor(Date.now() / 1000);

const fmt = (n: number) => Math.round(n).toLocaleString("en-US").padStart(12);
console.log(
  `${"body".padEnd(6)} ${"raw hmac/s".padStart(12)} ${"sign/s".padStart(12)} ${"ratio".padStart(6)} ${"2 secrets/s".padStart(12)}`,
);
for (const [label, size] of [
  ["1 KB", 1024],
  ["1 MB", 1024 * 1024],
] as const) {
  const body = new Uint8Array(size).fill(0x7b);
  const raw = rate(() => createHmac("sha256", key).update(`${id}.${ts}.`).update(body).digest("base64"));
  const one = rate(() => signatureHeaders({ id, timestampSec: ts, body, secrets: [secret] }));
  const two = rate(() => signatureHeaders({ id, timestampSec: ts, body, secrets: [secret, previous] }));
  console.log(`${label.padEnd(6)} ${fmt(raw)} ${fmt(one)} ${(one / raw).toFixed(2).padStart(6)} ${fmt(two)}`);
}
