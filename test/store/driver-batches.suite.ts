// The shared driver suite, a batch's life beyond the pass's basics: the webhook's failure
// streak as several records in one pass leave it, the batcher's reads, replays sharing stored
// bodies, and what retention may and may not remove. Part of driver.suite.ts.
import { describe, expect, test } from "bun:test";
import type { Event } from "../../src/events/schema.ts";
import type { EndedAttempt, Outcome, PassOutcome, ReplayBatch, ReplayCutter } from "../../src/store/driver.ts";
import { eventRows } from "../../src/store/event-rows.ts";
import { claimOf, cutOf, type DriverSetup, ended, pass, rowsOf, T, webhookRow, withStore } from "./driver-env.ts";

const w1 = { id: "w1", version: T };

/** `claim`'s attempt ended with `outcome` at `at`, failing with `code`. */
const endedWith = (claim: PassOutcome["claims"][number], outcome: Outcome, at: number, code = "http_5xx"): EndedAttempt => {
  const e = ended(claim, outcome, at);
  return outcome.kind === "delivered" ? e : { ...e, record: { ...e.record, failureCode: code } };
};

/** Every event its own batch, ids `${prefix}_1`… (in the order ids are made: SQLite orders a queue by them): the same events give the same bytes. */
function onePerBatch(prefix: string): ReplayCutter {
  let n = 0;
  const out = (rows: readonly { seq: number; body: string }[]): ReplayBatch[] =>
    rows.map((r) => ({
      id: `${prefix}_${++n}`,
      eventCount: 1,
      firstSeq: r.seq,
      lastSeq: r.seq,
      body: new TextEncoder().encode(`[${r.body}]`),
    }));
  return { page: out, end: () => [] };
}

export function batchCases(setup: DriverSetup): void {
  describe("a batch's life", () => {
    test(
      "several attempts recorded in one pass leave the webhook's streak as one by one would",
      withStore(setup, async (env) => {
        const s = await env.open();
        await s.events.insert(rowsOf(30, "e"), [], "api", T);
        await s.webhooks.insert(webhookRow("w1"));
        await pass(s, { cuts: Array.from({ length: 6 }, (_, k) => cutOf(w1, 5 * k, 5 * k + 5, `msg_${k}`)) });
        const c = (await pass(s, { now: T + 1, claims: [claimOf(w1, 6, 6)] })).claims;
        expect(c.length).toBe(6);
        const streak = async () => {
          const w = (await s.webhooks.get("w1"))!;
          return [w.consecutiveFailures, w.failingSince, w.lastFailureAt, w.lastFailureCode, w.lastSuccessAt];
        };
        const retry: Outcome = { kind: "retry", nextAttemptAt: T + 1000 };
        await pass(s, { now: T + 11, ended: [endedWith(c[0]!, retry, T + 10, "x1"), endedWith(c[1]!, retry, T + 11, "x2")] });
        expect(await streak()).toEqual([2, T + 10, T + 11, "x2", null]);
        await pass(s, {
          now: T + 21,
          ended: [endedWith(c[2]!, { kind: "delivered" }, T + 20), endedWith(c[3]!, { kind: "dead" }, T + 21, "x3")],
        });
        expect(await streak()).toEqual([1, T + 21, T + 21, "x3", T + 20]);
        await pass(s, { now: T + 31, ended: [endedWith(c[4]!, retry, T + 30, "x4"), endedWith(c[5]!, { kind: "delivered" }, T + 31)] });
        expect(await streak()).toEqual([0, null, T + 30, "x4", T + 31]);
        expect((await s.views.batch("w1", "msg_3"))!.state).toBe("dead");
        expect((await s.views.attempts("msg_4")).map((a) => [a.attempt, a.started_at, a.failure_code])).toEqual([[1, T + 25, "x4"]]);
      }),
    );

    test(
      "the batcher's reads: sizes in UTF-8 bytes, the engagement rows' machine flag when asked, bodies in seq order",
      withStore(setup, async (env) => {
        const s = await env.open();
        const at = new Date(T).toISOString();
        const events = [
          { event_id: "d1", type: "delivery", timestamp: at, host: "mx1", rcpt_to: "jürgen@example.org" },
          { event_id: "o1", type: "open", timestamp: at, host: "mx1", rcpt_to: "a@example.org", first: true, machine: true },
          { event_id: "c1", type: "click", timestamp: at, host: "mx1", rcpt_to: "a@example.org", first: true, machine: false },
        ] as Event[];
        await s.events.insert(eventRows(events), [], "api", T);
        const plain = await s.delivery.scan(0, 10, { machine: false });
        const bodies = await s.delivery.cutRows(plain[0]!.seq - 1, plain[2]!.seq);
        expect(bodies.map((r) => [r.seq, r.type, r.rcpt_to, JSON.parse(r.body).event_id])).toEqual(
          plain.map((r, i) => [r.seq, r.type, r.rcpt_to, events[i]!.event_id]),
        );
        expect(plain.map((r) => [r.bytes, r.received_at])).toEqual(bodies.map((r) => [new TextEncoder().encode(r.body).byteLength, T]));
        expect(plain.every((r) => r.machine === undefined)).toBe(true);
        // SQLite gives the flag as 1/0, PostgreSQL as true/false: the batcher takes either.
        const flags = (await s.delivery.scan(0, 10, { machine: true })).map((r) =>
          r.machine === null ? null : r.machine === true || r.machine === 1,
        );
        expect(flags).toEqual([null, true, false]);
        expect((await s.delivery.scan(plain[1]!.seq, 10, { machine: false })).map((r) => r.type)).toEqual(["click"]);
      }),
    );

    test(
      "a replay of the same events shares the bodies stored by the one before; a shared body outlives the batches pruned",
      withStore(setup, async (env) => {
        const s = await env.open();
        await s.events.insert(rowsOf(3, "e"), [], "api", T);
        await s.webhooks.insert(webhookRow("w1", { cursorSeq: 3 }));
        const range = { since: T, until: T + 3 };
        expect(await s.replay.insert("w1", range, onePerBatch("r1"), T)).toEqual({ batches: 3, events: 3 });
        expect(await s.replay.insert("w1", range, onePerBatch("r2"), T)).toEqual({ batches: 3, events: 3 });
        const c = (await pass(s, { now: T + 1, claims: [claimOf(w1, 6, 6)] })).claims;
        expect(c.map((x) => x.batch.id)).toEqual(["r1_1", "r1_2", "r1_3", "r2_1", "r2_2", "r2_3"]);
        expect(c.slice(3).map((x) => x.batch.body_id)).toEqual(c.slice(0, 3).map((x) => x.batch.body_id));
        expect(new Set(c.map((x) => x.batch.body_id)).size).toBe(3);
        // The first replay delivered and pruned (with the events, every cursor is past): the second's batches keep their bodies.
        await pass(s, { now: T + 2, ended: c.slice(0, 3).map((x) => ended(x, { kind: "delivered" }, T + 2)) });
        expect(await s.retention.pruneStep(T + 10)).toEqual({ events: 3, batches: 3, attempts: 3 });
        expect(new TextDecoder().decode(await s.delivery.body(c[3]!.batch))).toBe(
          new TextDecoder().decode(await s.delivery.body(c[0]!.batch)),
        );
        expect(JSON.parse(new TextDecoder().decode(await s.delivery.body(c[3]!.batch)))[0].event_id).toBe("e-000001");
        expect(await s.replay.backlog("w1")).toBe(3);
      }),
    );

    test(
      "retention keeps the events of a dead live batch and the batch itself; delivered batches and their attempts go",
      withStore(setup, async (env) => {
        const s = await env.open();
        await s.events.insert(rowsOf(10, "e"), [], "api", T);
        await s.webhooks.insert(webhookRow("w1"));
        await pass(s, { cuts: [cutOf(w1, 0, 5, "msg_1"), cutOf(w1, 5, 10, "msg_2")] });
        const [first] = (await pass(s, { now: T + 1, claims: [claimOf(w1)] })).claims;
        const [second] = (await pass(s, { now: T + 2, ended: [ended(first!, { kind: "dead" }, T + 2)], claims: [claimOf(w1)] })).claims;
        expect(second!.batch.id).toBe("msg_2");
        await pass(s, { now: T + 3, ended: [ended(second!, { kind: "delivered" }, T + 3)] });
        expect(await s.retention.pruneStep(T + 1000)).toEqual({ events: 0, batches: 1, attempts: 1 });
        expect(await s.retention.pruneStep(T + 1000)).toEqual({ events: 0, batches: 0, attempts: 0 });
        expect((await s.views.batch("w1", "msg_1"))!.state).toBe("dead");
        expect(await s.delivery.requeueDead("w1", T + 4, ["msg_1"])).toBe(1);
        const [again] = (await pass(s, { now: T + 4, claims: [claimOf(w1)] })).claims;
        await pass(s, { now: T + 5, ended: [ended(again!, { kind: "delivered" }, T + 5)] });
        expect(await s.retention.pruneStep(T + 1000)).toEqual({ events: 10, batches: 1, attempts: 2 });
        expect(await s.events.after(0, 100)).toEqual([]);
      }),
    );
  });
}
