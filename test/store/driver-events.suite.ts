// The shared driver suite, events in and out where drivers could differ: arrival counts, raw
// strings with NUL, ties in a search, several nodes writing at once (ids, seq order, first
// claims, the keyring, the lookup index), and what a fleet keeps per node. Part of
// driver.suite.ts; cases guarded by `setup.fleet` need nodes that are separate machines.
import { describe, expect, test } from "bun:test";
import type { Event } from "../../src/events/schema.ts";
import type { HitEvent, Store } from "../../src/store/driver.ts";
import { eventRows } from "../../src/store/event-rows.ts";
import { type DriverSetup, rowsOf, T, withStore } from "./driver-env.ts";

const MIN = 60_000;
const idOf = (body: string) => (JSON.parse(body) as { event_id: string }).event_id;
const mail = (id: string, over: Record<string, unknown> = {}) =>
  ({ event_id: id, type: "delivery", timestamp: new Date(T).toISOString(), host: "mx1", ...over }) as Event;
const open = (id: string) =>
  ({
    event_id: id,
    type: "open",
    timestamp: new Date(T).toISOString(),
    host: "mx1",
    rcpt_to: "a@example.org",
    first: false,
    machine: false,
  }) as HitEvent;

/** Follows seq from 0 with `after` until `total` events were seen (or the writers are done and nothing more comes). */
async function follow(s: Store, total: number, writing: Promise<unknown>): Promise<{ seq: number; id: string }[]> {
  const seen: { seq: number; id: string }[] = [];
  let done = false;
  void writing.finally(() => {
    done = true;
  });
  for (let cursor = 0; seen.length < total; ) {
    const finished = done; // read before the page: a page read after the writers finished is the last word
    const page = await s.events.after(cursor, 37);
    for (const e of page) seen.push({ seq: e.seq, id: idOf(e.body) });
    if (page.length > 0) cursor = page[page.length - 1]!.seq;
    else if (finished) break;
    else await Bun.sleep(1);
  }
  return seen;
}

export function eventCases(setup: DriverSetup): void {
  describe("events: drivers alike", () => {
    test(
      "events per minute by arrival, oldest first; an empty store counts zeros",
      withStore(setup, async (env) => {
        const s = await env.open();
        expect(await s.events.perMinute(T, 3)).toEqual([0, 0, 0]);
        await s.events.insert(rowsOf(3, "m0"), [], "api", T - 2 * MIN);
        await s.events.insert(rowsOf(2, "m1"), [], "api", T - MIN + 59_999);
        await s.events.insert(rowsOf(4, "m2"), [], "api", T);
        await s.events.insert(rowsOf(1, "m3"), [], "api", T + 30_000);
        expect(await s.events.perMinute(T + 30_000, 3)).toEqual([3, 2, 5]);
        expect(await s.events.perMinute(T, 2)).toEqual([2, 5]);
        expect(await s.events.perMinute(T + 5 * MIN, 2)).toEqual([0, 0]);
      }),
    );

    test(
      "a NUL or a lone surrogate in raw strings stores the chunk; the body keeps it, and a search or lookup with it finds the event",
      withStore(setup, async (env) => {
        const s = await env.open();
        const rcpt = "a\0b@example.org";
        const stored = await s.ingest.commit(
          eventRows([mail("n1", { rcpt_to: rcpt, message_id: "m\0id@x", queue_id: "Q\0" })]),
          "/var/log/mail\0.log",
          { checkpoint: { dev: 1, ino: 2, fingerprint: "f\0", offset: 10 }, correlation: "{}" },
          T,
        );
        expect(stored).toEqual(["delivery"]);
        const found = await s.events.search({ rcpt_to: rcpt, limit: 5 });
        expect(found.events.map((e) => [e.event_id, (e as { rcpt_to?: string }).rcpt_to])).toEqual([["n1", rcpt]]);
        expect((await s.ingest.checkpoint("/var/log/mail\0.log"))?.checkpoint.offset).toBe(10);
        expect((await s.feedback.findByMessageId("m\0id@x", 5)).length).toBe(1);
        await s.feedback.activateIndex();
        expect(await s.feedback.indexStep(100)).toMatchObject({ read: 1, added: 2 });
        expect((await s.feedback.findByQueueId("Q\0", 5)).length).toBe(1);
        // zod lets "\ud800" through from the API, custom names included.
        const odd = "x\ud800y@example.org";
        expect(await s.events.insert(eventRows([mail("s1", { rcpt_to: odd })]), ["odd\udc00"], "api", T)).toEqual({
          inserted: 1,
          duplicates: 0,
        });
        const hit = await s.events.search({ rcpt_to: odd, limit: 5 });
        expect(hit.events.map((e) => [e.event_id, (e as { rcpt_to?: string }).rcpt_to])).toEqual([["s1", odd]]);
        expect(await s.events.customTypes()).toHaveLength(1);
      }),
    );

    test(
      "search pages through events of one timestamp by seq, never overlapping",
      withStore(setup, async (env) => {
        const s = await env.open();
        await s.events.insert(eventRows(["t1", "t2", "t3", "t4", "t5"].map((id) => mail(id))), [], "api", T);
        const ids: string[] = [];
        let cursor: { ts: number; seq: number } | undefined;
        do {
          const page = await s.events.search({ limit: 2, since: T, until: T + 1, cursor });
          ids.push(...page.events.map((e) => e.event_id));
          cursor = page.next ?? undefined;
        } while (cursor);
        expect(ids).toEqual(["t5", "t4", "t3", "t2", "t1"]);
      }),
    );

    test(
      "an ingest commit with no events still moves the position",
      withStore(setup, async (env) => {
        const s = await env.open();
        const position = { checkpoint: { dev: 3, ino: 4, fingerprint: "g", offset: 512 }, correlation: '{"open":[]}' };
        expect(await s.ingest.commit({ cols: [], bodies: [] }, "/var/log/maillog", position, T)).toEqual([]);
        expect(await s.ingest.checkpoint("/var/log/maillog")).toEqual({ checkpoint: position.checkpoint, correlation: { open: [] } });
      }),
    );
  });

  describe("events: two nodes at once", () => {
    test(
      "the same ids from two nodes are stored once, the second's counted as duplicates",
      withStore(setup, async (env) => {
        const [a, b] = [await env.open("node-a"), await env.open("node-b")];
        expect(await a.events.insert(rowsOf(5, "d"), [], "api", T)).toEqual({ inserted: 5, duplicates: 0 });
        expect(await b.events.insert(rowsOf(8, "d"), [], "api", T)).toEqual({ inserted: 3, duplicates: 5 });
        expect(await b.ingest.commit(rowsOf(9, "d"), "/var/log/mail.log", null, T)).toEqual(["delivery"]);
        expect((await a.events.after(0, 100)).map((e) => idOf(e.body))).toEqual(Array.from({ length: 9 }, (_, i) => `d-00000${i + 1}`));
      }),
    );

    test(
      "writers on two nodes: a reader following seq sees every event once, in seq order",
      withStore(setup, async (env) => {
        const [a, b, reader] = [await env.open("node-a"), await env.open("node-b"), await env.open("node-c")];
        const chunks = 15;
        const write = (s: Store, prefix: string) =>
          (async () => {
            for (let i = 0; i < chunks; i++) await s.ingest.commit(rowsOf(20, `${prefix}${i}`), `/log/${prefix}`, null, T);
          })();
        const writing = Promise.all([write(a, "a"), write(b, "b")]);
        const seen = await follow(reader, 2 * chunks * 20, writing);
        await writing;
        expect(seen.length).toBe(2 * chunks * 20);
        expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
        expect(seen.every((e, i) => i === 0 || e.seq > seen[i - 1]!.seq)).toBe(true);
      }),
    );

    test(
      "a first is claimed once across nodes; the keyring created at once by two is created once",
      withStore(setup, async (env) => {
        const [a, b] = [await env.open("node-a"), await env.open("node-b")];
        const m = Math.floor(T / MIN);
        const [ra, rb] = await Promise.all([
          a.tracking.commitHits([{ event: open("oa"), firstKey: "k", minute: m }], { durable: false, now: T }),
          b.tracking.commitHits([{ event: open("ob"), firstKey: "k", minute: m }], { durable: false, now: T }),
        ]);
        expect([ra.stored, rb.stored]).toEqual([{ open: 1 }, { open: 1 }]);
        const firsts = (await a.events.after(0, 10)).map((e) => (JSON.parse(e.body) as { first: boolean }).first);
        expect(firsts.sort()).toEqual([false, true]);
        expect(await a.tracking.minuteCounts(m, m + 1)).toEqual([
          { minute: m, opens: 2, machine_opens: 0, clicks: 0, machine_clicks: 0, unsubscribes: 0 },
        ]);
        const rings = await Promise.all([a, b].map((s, i) => s.tracking.updateKeyring((cur) => (cur === null ? `ring-${i}` : null), T)));
        expect(rings[0]).toEqual(rings[1]);
        expect(rings[0]!.version).toBe(1);
      }),
    );

    test(
      "two nodes stepping the lookup index at once index every event once",
      withStore(setup, async (env) => {
        const [a, b] = [await env.open("node-a"), await env.open("node-b")];
        const events = Array.from({ length: 40 }, (_, i) => mail(`L${i}`, { message_id: `m${i}@x`, rcpt_to: "r@x" }));
        await a.events.insert(eventRows(events), [], "api", T);
        await Promise.all([a.feedback.activateIndex(), b.feedback.activateIndex()]);
        let read = 0;
        let added = 0;
        for (let round = 0; round < 40 && (await a.feedback.indexState())!.indexedSeq < 40; round++) {
          for (const step of await Promise.all([a.feedback.indexStep(7), b.feedback.indexStep(7)])) {
            read += step.read;
            added += step.added;
          }
        }
        expect([read, added]).toEqual([40, 40]);
        expect(await b.feedback.indexState()).toEqual({ indexedSeq: 40, maxSeq: 40 });
        expect((await b.feedback.findByMessageId("m7@x", 5)).map((r) => r.message_id)).toEqual(["m7@x"]);
      }),
    );
  });

  // Only where nodes are separate machines: SQLite's "nodes" share one file's checkpoints and one clock's writer.
  if (!setup.fleet) return;
  describe("events: a fleet's nodes", () => {
    test(
      "each node keeps its own position for a log at the same path",
      withStore(setup, async (env) => {
        const [a, b] = [await env.open("node-a"), await env.open("node-b")];
        const at = (offset: number) => ({ checkpoint: { dev: 1, ino: 1, fingerprint: "f", offset }, correlation: "{}" });
        await a.ingest.commit(rowsOf(1, "pa"), "/var/log/mail.log", at(100), T);
        await b.ingest.commit(rowsOf(1, "pb"), "/var/log/mail.log", at(7), T);
        await a.ingest.commit(rowsOf(1, "pa2"), "/var/log/mail.log", at(150), T);
        expect((await a.ingest.checkpoint("/var/log/mail.log"))?.checkpoint.offset).toBe(150);
        expect((await b.ingest.checkpoint("/var/log/mail.log"))?.checkpoint.offset).toBe(7);
        expect(await (await env.open("node-c")).ingest.checkpoint("/var/log/mail.log")).toBeNull();
      }),
    );

    test(
      "arrival never goes back with seq: events from a node whose clock is behind count in the minute before them",
      withStore(setup, async (env) => {
        const [a, b] = [await env.open("node-a"), await env.open("node-b")];
        await a.events.insert(rowsOf(5, "ahead"), [], "api", T + MIN);
        await b.events.insert(rowsOf(3, "behind"), [], "api", T); // b's clock: a minute behind a's
        await a.events.insert(rowsOf(2, "later"), [], "api", T + MIN + 1);
        expect(await a.events.perMinute(T + MIN, 2)).toEqual([0, 10]);
      }),
    );
  });
}
