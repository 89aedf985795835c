import { describe, expect, test } from "bun:test";
import path from "node:path";
import { cutBatches, subscriptionKey, type ScanMemo } from "../../src/deliver/batcher.ts";
import type { BatchLimits } from "../../src/deliver/subscription.ts";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/driver.ts";
import type { WebhookRow } from "../../src/store/driver.ts";
import { getWebhook, insertWebhook } from "../../src/store/sqlite/webhooks.ts";
import type { Event } from "../../src/events/schema.ts";
import { tempDir } from "../helpers/hookd.ts";
import { sqliteOf } from "../../src/store/sqlite/driver.ts";
import { storeEvents } from "../helpers/store.ts";

// The batcher's cursor arithmetic, checked against a model: whatever the interleaving of
// new events, passes, limits, free slots and remembered scans, every event a webhook
// subscribes to lands in exactly one of its batches, in order, and nothing else does.

function rng(seed: number) {
  let s = (seed * 2654435761) >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const TYPES = ["delivery", "bounce", "open"] as const;
const DOMAINS = ["a.example", "b.example"] as const;

function event(n: number, rand: () => number): Event {
  const type = TYPES[Math.floor(rand() * TYPES.length)]!;
  const rcpt = `u${n}@${DOMAINS[Math.floor(rand() * DOMAINS.length)]}`;
  // Bodies of very different sizes, so the byte limit cuts batches too.
  const pad = "x".repeat(Math.floor(rand() * 400));
  return {
    event_id: `e${n}`,
    type,
    timestamp: new Date(Date.UTC(2026, 10, 23) + n).toISOString(),
    host: "mx1",
    rcpt_to: rcpt,
    ...(type === "open" ? {} : { response: pad }),
  } as Event;
}

function batchedIds(store: Store, webhookId: string): string[][] {
  const rows = sqliteOf(store)
    .query(
      `SELECT bb.body AS body FROM batches b JOIN batch_bodies bb ON bb.id = b.body_id WHERE b.webhook_id = ? ORDER BY b.created_at, b.id`,
    )
    .all(webhookId) as { body: Uint8Array }[];
  return rows.map((r) => (JSON.parse(new TextDecoder().decode(r.body)) as { event_id: string }[]).map((e) => e.event_id));
}

function webhook(store: Store, id: string, events: string[], filter: WebhookRow["filter"]): Promise<WebhookRow> {
  return store.webhooks.insert({
    id,
    name: id,
    target: "http://127.0.0.1:9/",
    events,
    filter,
    secret: "whsec_AAAA",
    createdAt: 0,
    updatedAt: 0,
  });
}

describe("cutBatches against a model", () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    test(`seed ${seed}: every subscribed event exactly once, in order`, async () => {
      const rand = rng(seed);
      const store = openStore(path.join(tempDir(), "b.db"));
      try {
        const subs: { id: string; events: string[]; filter: WebhookRow["filter"] }[] = [
          { id: "all", events: ["*"], filter: null },
          { id: "bounces", events: ["bounce"], filter: null },
          { id: "a-only", events: ["delivery", "open"], filter: { rcpt_domains: ["a.example"] } },
        ];
        for (const s of subs) await webhook(store, s.id, s.events, s.filter);
        const limits: BatchLimits = { maxEvents: 1 + Math.floor(rand() * 40), maxBytes: 1500 + Math.floor(rand() * 8000), maxWaitMs: 50 };
        const memos = new Map<string, ScanMemo>();
        let n = 0;
        let now = 1_000_000;
        const all: Event[] = [];
        for (let round = 0; round < 120; round++) {
          const k = Math.floor(rand() * 30);
          const fresh = Array.from({ length: k }, () => event(n++, rand));
          if (fresh.length) await storeEvents(store, fresh, "test", now);
          all.push(...fresh);
          now += Math.floor(rand() * 40);
          for (const s of subs) {
            const w = (await store.webhooks.get(s.id))!;
            const key = subscriptionKey(w, limits);
            const opts = { allowPartial: rand() < 0.7, maxBatches: 1 + Math.floor(rand() * 3) };
            // Sometimes the remembered scan is dropped (a restart): it must not matter.
            const memo = rand() < 0.2 ? undefined : memos.get(key);
            const { memo: next } = await cutBatches(store, w, limits, now, opts, [w], memo);
            memos.set(key, next);
          }
        }
        // Drain: partial batches allowed, forced, until nothing is left.
        for (let i = 0; i < 100; i++) {
          let cut = 0;
          for (const s of subs) {
            const w = (await store.webhooks.get(s.id))!;
            const key = subscriptionKey(w, limits);
            const { result, memo } = await cutBatches(
              store,
              w,
              limits,
              now,
              { allowPartial: true, maxBatches: 100_000, force: true },
              [w],
              memos.get(key),
            );
            memos.set(key, memo);
            cut += result.cut;
          }
          if (!cut) break;
        }
        const domain = (e: Event) => (e as { rcpt_to: string }).rcpt_to.split("@")[1];
        const expected: Record<string, string[]> = {
          all: all.map((e) => e.event_id),
          bounces: all.filter((e) => e.type === "bounce").map((e) => e.event_id),
          "a-only": all.filter((e) => (e.type === "delivery" || e.type === "open") && domain(e) === "a.example").map((e) => e.event_id),
        };
        for (const s of subs) {
          const batches = batchedIds(store, s.id);
          expect(batches.flat()).toEqual(expected[s.id]!);
          for (const b of batches) {
            expect(b.length).toBeGreaterThan(0);
            expect(b.length).toBeLessThanOrEqual(limits.maxEvents);
          }
        }
      } finally {
        store.close();
      }
    });
  }
});
