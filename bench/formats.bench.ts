// Body encoding per webhook format, a full batch of 10,000 stored events at a time: the
// provider formats parse, map and re-serialize every event, hookd only joins the stored
// texts, so hookd is the baseline and the ratio is the price of a provider format. The
// sendgrid + signature row adds the per-attempt ECDSA signature over the same body.
//   bun bench/formats.bench.ts
import { generateSigningKeyPair } from "../src/deliver/ecdsa.ts";
import { encodeBody, formatHeaders } from "../src/deliver/formats/index.ts";
import type { WebhookFormat } from "../src/webhooks/model.ts";
import type { Event, EventType } from "../src/events/schema.ts";
import { sampleEvent } from "../src/events/samples.ts";

const RUN_MS = 2000;
const BATCH = 10_000;

// A plausible mix: mostly deliveries, then injections, opens, clicks, delays, bounces.
const MIX: [EventType, number][] = [
  ["delivery", 40],
  ["injection", 25],
  ["open", 12],
  ["click", 6],
  ["delay", 8],
  ["bounce", 5],
  ["expired", 1],
  ["policy_rejection", 1],
  ["list_unsubscribe", 1],
  ["spam_complaint", 1],
];
const types = MIX.flatMap(([t, n]) => Array<EventType>(n).fill(t));
const now = Date.now();
const texts = Array.from({ length: BATCH }, (_, i) => {
  const e: Event = sampleEvent(types[i % types.length]!, { host: "mx1", now: now + i, index: i });
  if ("rcpt_to" in e && e.rcpt_to) e.rcpt_to = `user${i}@example.org`;
  return JSON.stringify({ ...e, tags: ["newsletter"], metadata: { customer: String(i) } });
});

function rate(fn: () => unknown): number {
  Bun.gc(true); // no garbage from the previous row
  const warm = performance.now();
  while (performance.now() - warm < RUN_MS / 2) fn(); // JIT tiers up before the clock starts
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < RUN_MS) {
    fn();
    n++;
    elapsed = performance.now() - start;
  }
  return (n / elapsed) * 1000;
}

const keys = generateSigningKeyPair();
const rows: { label: string; perSec: number; bytes: number }[] = [];
for (const format of ["hookd", "sendgrid", "sparkpost"] as WebhookFormat[]) {
  rows.push({ label: format, perSec: rate(() => encodeBody(format, texts)), bytes: encodeBody(format, texts).length });
}
const sgBody = encodeBody("sendgrid", texts);
rows.push({
  label: "sendgrid + signature",
  perSec: rate(() =>
    formatHeaders("sendgrid", {
      batchId: "msg_1",
      body: encodeBody("sendgrid", texts),
      nowMs: Date.now(),
      signingPrivateKey: keys.privateKeyPkcs8B64,
    }),
  ),
  bytes: sgBody.length,
});

const baseline = rows[0]!.perSec;
const baseBytes = rows[0]!.bytes;
console.log(`${BATCH.toLocaleString("en-US")} events a batch, bun ${Bun.version}`);
console.log(
  `${"format".padEnd(22)} ${"batches/s".padStart(10)} ${"events/s".padStart(12)} ${"vs hookd".padStart(9)} ${"body".padStart(10)} ${"size".padStart(6)}`,
);
for (const r of rows) {
  console.log(
    `${r.label.padEnd(22)} ${r.perSec.toFixed(1).padStart(10)} ${Math.round(r.perSec * BATCH)
      .toLocaleString("en-US")
      .padStart(
        12,
      )} ${(r.perSec / baseline).toFixed(3).padStart(8)}× ${(r.bytes / 1e6).toFixed(2).padStart(8)}MB ${(r.bytes / baseBytes).toFixed(2).padStart(5)}×`,
  );
}
