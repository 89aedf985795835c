// The shared driver suite, the other units of work: tracking's commit and keyring, the
// feedback intake's commit and index, API keys, domains, replays, retention. Part of
// driver.suite.ts.
import { describe, expect, test } from "bun:test";
import type { Event } from "../../src/events/schema.ts";
import type { HitEvent, ReplayBatch, ReplayCutter } from "../../src/store/driver.ts";
import { eventRows } from "../../src/store/event-rows.ts";
import { type DriverSetup, rowsOf, T, webhookRow, withStore } from "./driver-env.ts";

const hit = (id: string, type: "open" | "click", machine = false) =>
  ({ event_id: id, type, timestamp: new Date(T).toISOString(), host: "mx1", rcpt_to: "a@example.org", first: false, machine }) as HitEvent;

const mailEvent = (id: string, messageId: string, over: Partial<Event> = {}) =>
  ({
    event_id: id,
    type: "delivery",
    timestamp: new Date(T).toISOString(),
    host: "mx1",
    message_id: messageId,
    rcpt_to: "a@example.org",
    ...over,
  }) as Event;

/** Every event its own batch: enough to see what a replay stores. */
function onePerBatch(): ReplayCutter {
  let n = 0;
  const out = (rows: readonly { seq: number; body: string }[]): ReplayBatch[] =>
    rows.map((r) => ({ id: `rp_${++n}`, eventCount: 1, firstSeq: r.seq, lastSeq: r.seq, body: new TextEncoder().encode(`[${r.body}]`) }));
  return { page: out, end: () => [] };
}

export function unitCases(setup: DriverSetup): void {
  describe("tracking", () => {
    test(
      "the hits' commit: first claimed once per key (in the batch too), duplicates neither stored nor counted, minute counts",
      withStore(setup, async (env) => {
        const s = await env.open();
        const m = Math.floor(T / 60_000);
        const r = await s.tracking.commitHits(
          [
            { event: hit("o1", "open"), firstKey: "k-open", minute: m },
            { event: hit("o2", "open", true), firstKey: "k-open", minute: m },
            { event: hit("o1", "open"), firstKey: "k-open", minute: m },
            { event: hit("c1", "click"), firstKey: "k-click", minute: m + 1 },
          ],
          { durable: false, now: T },
        );
        expect(r).toEqual({ stored: { open: 2, click: 1 }, machine: 1 });
        expect(
          (await s.tracking.commitHits([{ event: hit("o3", "open"), firstKey: "k-open", minute: m }], { durable: true, now: T })).stored,
        ).toEqual({ open: 1 });
        const bodies = (await s.events.after(0, 10)).map((e) => JSON.parse(e.body) as { event_id: string; first: boolean });
        expect(bodies.map((b) => [b.event_id, b.first])).toEqual([
          ["o1", true],
          ["o2", false],
          ["c1", true],
          ["o3", false],
        ]);
        expect(await s.tracking.minuteCounts(m, m + 2)).toEqual([
          { minute: m, opens: 3, machine_opens: 1, clicks: 0, machine_clicks: 0, unsubscribes: 0 },
          { minute: m + 1, opens: 0, machine_opens: 0, clicks: 1, machine_clicks: 0, unsubscribes: 0 },
        ]);
        expect(await s.tracking.pruneMinutes(m + 1)).toBe(1);
      }),
    );

    test(
      "the keyring: written only when the update says so, never when it throws; its version grows with every write",
      withStore(setup, async (env) => {
        const [a, b] = [await env.open(), await env.open()];
        expect([await a.tracking.keyring(), await a.tracking.keyringVersion()]).toEqual([null, 0]);
        expect(await a.tracking.updateKeyring((cur) => (cur === null ? "ring-1" : null), T)).toEqual({ ring: "ring-1", version: 1 });
        expect(await b.tracking.updateKeyring((cur) => (cur === null ? "other" : null), T)).toEqual({ ring: "ring-1", version: 1 });
        const refused = b.tracking.updateKeyring(() => {
          throw new Error("all 256 key ids in use");
        }, T);
        await expect(refused).rejects.toThrow("all 256 key ids in use");
        expect(await b.tracking.updateKeyring((cur) => `${cur}+2`, T)).toEqual({ ring: "ring-1+2", version: 2 });
        expect(await a.tracking.keyringVersion()).toBe(2);
      }),
    );

    test(
      "tracked messages: ids in order; only those that exist are found",
      withStore(setup, async (env) => {
        const s = await env.open();
        const ids = await s.tracking.insertMessages(['{"campaign_id":"a"}', '{"campaign_id":"b"}'], T);
        expect(ids[1]!).toBeGreaterThan(ids[0]!);
        const found = await s.tracking.messages([ids[1]!, ids[1]! + 1000]);
        expect([...found]).toEqual([[ids[1]!, '{"campaign_id":"b"}']]);
      }),
    );
  });

  describe("feedback", () => {
    test(
      "the commit: every report's events or none; ids already stored skipped; the stored types of each report",
      withStore(setup, async (env) => {
        const s = await env.open();
        expect(await s.feedback.commit([rowsOf(2, "f1"), rowsOf(1, "f2")], T)).toEqual([["delivery", "delivery"], ["delivery"]]);
        expect(await s.feedback.commit([rowsOf(2, "f1"), rowsOf(2, "f2")], T)).toEqual([[], ["delivery"]]);
        const bad = rowsOf(1, "f4");
        bad.cols[0] = null;
        await expect(s.feedback.commit([rowsOf(1, "f3"), bad], T)).rejects.toThrow();
        expect((await s.events.after(0, 100)).length).toBe(4);
      }),
    );

    test(
      "the lookup index: found before and after indexing, newest first, never the intake's own events",
      withStore(setup, async (env) => {
        const s = await env.open();
        await s.events.insert(
          eventRows([mailEvent("m1", "mid@x"), mailEvent("m2", "other@x"), mailEvent("m3", "mid@x", { queue_id: "Q9" })]),
          [],
          "api",
          T,
        );
        await s.feedback.commit([eventRows([mailEvent("fb1", "mid@x", { type: "bounce" } as Partial<Event>)])], T);
        const ids = async () => (await s.feedback.findByMessageId("mid@x", 10)).map((r) => r.seq);
        const before = await ids();
        expect(before.length).toBe(2);
        expect(before[0]!).toBeGreaterThan(before[1]!);
        expect(await s.feedback.indexState()).toBeNull();
        await s.feedback.activateIndex();
        expect(await s.feedback.indexStep(1000)).toMatchObject({ read: 4, behind: 0 });
        expect(await s.feedback.indexState()).toEqual({ indexedSeq: 4, maxSeq: 4 });
        expect(await ids()).toEqual(before);
        expect((await s.feedback.findByQueueId("Q9", 10)).map((r) => [r.message_id, r.rcpt_to])).toEqual([["mid@x", "a@example.org"]]);
        expect(await s.feedback.indexStep(1000)).toEqual({ read: 0, added: 0, behind: 0 });
      }),
    );
  });

  describe("API keys, domains", () => {
    test(
      "the first key is made once; a key is found by its text until revoked, with its scopes",
      withStore(setup, async (env) => {
        const s = await env.open();
        const first = await s.keys.createFirst("admin", ["webhooks:read", "events:read"], T);
        expect(await s.keys.createFirst("admin", ["webhooks:read"], T)).toBeNull();
        const found = await s.keys.find(first!.key, T);
        expect(found).toMatchObject({ id: first!.info.id, name: "admin", scopes: ["webhooks:read", "events:read"], revokedAt: null });
        expect(found && "hash" in found).toBe(false);
        expect([await s.keys.allows(first!.info.id, "events:read"), await s.keys.allows(first!.info.id, "events:write")]).toEqual([
          true,
          false,
        ]);
        expect(await s.keys.find(first!.info.prefix, T)).toBeNull();
        expect(await s.keys.revoke(first!.info.id, T + 1)).toBe(true);
        expect([await s.keys.find(first!.key, T + 2), await s.keys.revoke(first!.info.id, T + 3)]).toEqual([null, false]);
        expect((await s.keys.list()).map((k) => k.revokedAt)).toEqual([T + 1]);
      }),
    );

    test(
      "verifying a domain verifies the dns_txt webhooks pending on it and under it, once",
      withStore(setup, async (env) => {
        const s = await env.open();
        expect(await s.domains.insert({ domain: "example.com", token: "t1", createdAt: T })).toMatchObject({ verifiedAt: null });
        expect(await s.domains.insert({ domain: "example.com", token: "t2", createdAt: T })).toBeUndefined();
        await s.webhooks.insert(webhookRow("under", { target: "https://hooks.example.com/in", verification: "dns_txt" }));
        await s.webhooks.insert(webhookRow("beside", { target: "https://evil-example.com/in", verification: "dns_txt" }));
        expect(await s.domains.verify("example.com", T + 5)).toMatchObject({
          domain: { domain: "example.com", verifiedAt: T + 5 },
          activated: ["under"],
        });
        expect(await s.domains.verify("example.com", T + 6)).toEqual({ domain: undefined, activated: [] });
        expect([(await s.webhooks.get("under"))!.verifiedAt, (await s.webhooks.get("beside"))!.verifiedAt]).toEqual([T + 5, null]);
        expect((await s.domains.verifiedCovering("a.hooks.example.com"))?.domain).toBe("example.com");
        expect(await s.domains.listPending()).toEqual([]);
        expect([await s.domains.delete("example.com"), await s.domains.delete("example.com")]).toEqual([true, false]);
      }),
    );
  });

  describe("replay and retention", () => {
    test(
      "a replay stores the cutter's batches behind what is pending, counted as its backlog",
      withStore(setup, async (env) => {
        const s = await env.open();
        await s.events.insert(rowsOf(5, "e"), [], "api", T);
        await s.webhooks.insert(webhookRow("w1"));
        expect(await s.replay.countInRange(T + 1, T + 4)).toBe(3);
        expect(await s.replay.insert("w1", { since: T + 1, until: T + 4 }, onePerBatch(), T)).toEqual({ batches: 3, events: 3 });
        expect(await s.replay.backlog("w1")).toBe(3);
        expect((await s.views.recentBatches("w1", 10)).map((b) => [b.kind, b.state, b.event_count])).toEqual(
          Array(3).fill(["replay", "pending", 1]),
        );
      }),
    );

    test(
      "retention prunes old events no webhook still needs, and nothing a cursor is behind",
      withStore(setup, async (env) => {
        const s = await env.open();
        await s.events.insert(rowsOf(10, "e"), [], "api", T);
        await s.events.insert(rowsOf(5, "late"), [], "api", T + 60_000);
        await s.webhooks.insert(webhookRow("behind", { cursorSeq: 4 }));
        expect(await s.retention.pruneStep(T + 1)).toEqual({ events: 4, batches: 0, attempts: 0 });
        expect(await s.retention.pruneStep(T + 1)).toEqual({ events: 0, batches: 0, attempts: 0 });
        expect((await s.events.after(0, 100)).length).toBe(11);
      }),
    );
  });
}
