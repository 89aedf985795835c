// The shared driver suite, delivery: the engine's pass (records, compare-and-set cuts,
// leases), bodies, retries. Part of driver.suite.ts.
import { describe, expect, test } from "bun:test";
import { claimOf, cutOf, type DriverSetup, ended, LEASE, pass, rowsOf, T, webhookRow, withStore } from "./driver-env.ts";

export function deliveryCases(setup: DriverSetup): void {
  describe("the engine's pass", () => {
    test(
      "a cut moves the cursor only from where its plan started, and only while the webhook is as the plan read it",
      withStore(setup, async (env) => {
        const s = await env.open();
        await s.events.insert(rowsOf(30, "e"), [], "api", T);
        await s.webhooks.insert(webhookRow("w1"));
        const w = { id: "w1", version: T };
        expect((await pass(s, { cuts: [cutOf(w, 0, 10, "msg_1")] })).cut).toEqual(["w1"]);
        // The same plan again (another pass planned from the same read): nothing written.
        expect((await pass(s, { cuts: [cutOf(w, 0, 20, "msg_2")] })).cut).toEqual([]);
        // Edited after the plan read it (updatedAt moved): left for the next pass.
        await s.webhooks.update("w1", { events: ["bounce"], updatedAt: T + 1 });
        expect((await pass(s, { cuts: [cutOf(w, 10, 20, "msg_3")] })).cut).toEqual([]);
        expect((await pass(s, { cuts: [cutOf({ id: "w1", version: T + 1 }, 10, 20, "msg_4")] })).cut).toEqual(["w1"]);
        // Deleted meanwhile: nothing written, and no error.
        expect((await pass(s, { cuts: [cutOf({ id: "gone", version: T }, 0, 20, "msg_5")] })).cut).toEqual([]);
        const state = await s.delivery.passState();
        expect(state.webhooks.map((x) => [x.id, x.cursorSeq])).toEqual([["w1", 20]]);
        expect(state.pending).toEqual(new Map([["w1", 2]]));
        expect((await s.views.recentBatches("w1", 10)).map((b) => [b.id, b.event_count])).toEqual([
          ["msg_4", 10],
          ["msg_1", 10],
        ]);
      }),
    );

    test(
      "a group's cut: one body for every member still where the plan found it; the cursor moves past skipped events",
      withStore(setup, async (env) => {
        const s = await env.open();
        await s.events.insert(rowsOf(12, "e"), [], "api", T);
        for (const id of ["a", "b", "c"]) await s.webhooks.insert(webhookRow(id));
        await s.webhooks.update("c", { updatedAt: T + 1 });
        const body = new TextEncoder().encode("[1,2]");
        const members = ["a", "b", "c"].map((id) => ({ webhookId: id, cursorSeq: 0, version: T }));
        const batch = { ids: ["msg_a", "msg_b", "msg_c"], body, eventCount: 2, firstSeq: 3, lastSeq: 7, toSeq: 7 };
        const out = await pass(s, { cuts: [{ members, batches: [batch], cursorTo: 12, now: T }] });
        expect(out.cut).toEqual(["a", "b"]);
        const cursors = new Map((await s.delivery.passState()).webhooks.map((w) => [w.id, w.cursorSeq]));
        expect(cursors).toEqual(
          new Map([
            ["a", 12],
            ["b", 12],
            ["c", 0],
          ]),
        );
        const [claimA] = (await pass(s, { claims: [claimOf({ id: "a", version: T })] })).claims;
        const [claimB] = (await pass(s, { claims: [claimOf({ id: "b", version: T })] })).claims;
        expect(claimA!.batch.body_id).toBe(claimB!.batch.body_id);
        expect(new TextDecoder().decode(await s.delivery.body(claimA!.batch))).toBe("[1,2]");
        // Only filtered-out events after the cursor: it moves on without a batch.
        expect(
          (await pass(s, { cuts: [{ members: [{ webhookId: "c", cursorSeq: 0, version: T + 1 }], batches: [], cursorTo: 12, now: T }] }))
            .cut,
        ).toEqual([]);
        expect((await s.delivery.passState()).webhooks.find((w) => w.id === "c")!.cursorSeq).toBe(12);
      }),
    );

    test(
      "claims: due heads in order, at most the slots given, never one leased; the earliest not due is reported",
      withStore(setup, async (env) => {
        const s = await env.open();
        await s.events.insert(rowsOf(30, "e"), [], "api", T);
        await s.webhooks.insert(webhookRow("w1"));
        const w = { id: "w1", version: T };
        // Three cuts in one pass, each from where the one before left the cursor.
        await pass(s, { cuts: [cutOf(w, 0, 10, "msg_1"), cutOf(w, 10, 20, "msg_2"), cutOf(w, 20, 30, "msg_3")] });
        const first = await pass(s, { now: T + 1, claims: [claimOf(w, 2, 3)] });
        expect(first.claims.map((c) => [c.batch.id, c.batch.attempts])).toEqual([
          ["msg_1", 1],
          ["msg_2", 1],
        ]);
        expect(new Set(first.claims.map((c) => c.token)).size).toBe(2);
        // The two in flight are leased: the third is the only one left to claim.
        expect((await pass(s, { now: T + 2, claims: [claimOf(w, 2, 3)] })).claims.map((c) => c.batch.id)).toEqual(["msg_3"]);
        // msg_1 failed and waits for its retry; msg_2 was delivered.
        const out = await pass(s, {
          now: T + 3,
          ended: [
            ended(first.claims[0]!, { kind: "retry", nextAttemptAt: T + 5000 }, T + 3),
            ended(first.claims[1]!, { kind: "delivered" }, T + 3),
          ],
          claims: [claimOf(w, 3, 3)],
        });
        expect(out.recorded).toEqual([true, true]);
        expect(out.claims).toEqual([]);
        expect(out.nextDueAt).toBe(T + 5000);
        const again = await pass(s, { now: T + 5000, claims: [claimOf(w, 1)] });
        expect(again.claims.map((c) => [c.batch.id, c.batch.attempts, c.batch.first_attempt_at])).toEqual([["msg_1", 2, T + 1]]);
        expect((await s.views.attempts("msg_1")).map((a) => [a.attempt, a.response_code])).toEqual([[1, 500]]);
        expect((await s.webhooks.get("w1"))!.lastSuccessAt).toBe(T + 3);
      }),
    );

    test(
      "a claim is skipped when the webhook changed after the engine read it (paused, edited), and at the bound across webhooks",
      withStore(setup, async (env) => {
        const s = await env.open();
        await s.events.insert(rowsOf(20, "e"), [], "api", T);
        for (const id of ["a", "b"]) await s.webhooks.insert(webhookRow(id));
        for (const id of ["a", "b"]) await pass(s, { cuts: [cutOf({ id, version: T }, 0, 20, `msg_${id}`)] });
        await s.webhooks.update("a", { active: false, updatedAt: T + 1 });
        const stale = await pass(s, { claims: [claimOf({ id: "a", version: T }), claimOf({ id: "b", version: T })], maxClaims: 1 });
        expect(stale.claims.map((c) => c.batch.id)).toEqual(["msg_b"]);
        expect((await pass(s, { claims: [claimOf({ id: "a", version: T + 1 })], maxClaims: 0 })).claims).toEqual([]);
      }),
    );

    test(
      "one node at a time has a webhook's head; after the lease another node sends it; the late outcome is refused",
      withStore(setup, async (env) => {
        const [a, b] = [await env.open("a"), await env.open("b")];
        await a.events.insert(rowsOf(20, "e"), [], "api", T);
        await a.webhooks.insert(webhookRow("w1"));
        const w = { id: "w1", version: T };
        await pass(a, { cuts: [cutOf(w, 0, 10, "msg_1")] });
        await pass(a, { cuts: [cutOf(w, 10, 20, "msg_2")] });
        const [ca] = (await pass(a, { now: T + 1, claims: [claimOf(w)] })).claims;
        expect((await pass(b, { now: T + 2, claims: [claimOf(w)] })).claims).toEqual([]);
        const [cb] = (await pass(b, { now: T + LEASE + 10, claims: [claimOf(w)] })).claims;
        expect([ca?.batch.id, cb?.batch.id, cb?.batch.attempts]).toEqual(["msg_1", "msg_1", 2]);
        const late = await pass(a, { now: T + LEASE + 20, ended: [ended(ca!, { kind: "delivered" }, T + LEASE + 20)] });
        const ok = await pass(b, { now: T + LEASE + 30, ended: [ended(cb!, { kind: "delivered" }, T + LEASE + 30)] });
        expect([late.recorded, ok.recorded]).toEqual([[false], [true]]);
        const [next] = (await pass(a, { now: T + LEASE + 40, claims: [claimOf(w)] })).claims;
        expect(next?.batch.id).toBe("msg_2");
        expect((await a.views.attempts("msg_1")).length).toBe(1);
      }),
    );

    test(
      "a pass is all or nothing: one that fails records, cuts and claims nothing",
      withStore(setup, async (env) => {
        const s = await env.open();
        await s.events.insert(rowsOf(20, "e"), [], "api", T);
        for (const id of ["w1", "w2"]) await s.webhooks.insert(webhookRow(id));
        await pass(s, { cuts: [cutOf({ id: "w1", version: T }, 0, 10, "msg_1")] });
        const [c] = (await pass(s, { now: T + 1, claims: [claimOf({ id: "w1", version: T })] })).claims;
        // msg_1 exists already: the cut's insert fails, and with it the whole pass.
        const failing = pass(s, {
          now: T + 2,
          ended: [ended(c!, { kind: "delivered" }, T + 2)],
          cuts: [cutOf({ id: "w2", version: T }, 0, 10, "msg_1")],
        });
        await expect(failing).rejects.toThrow();
        expect(await s.views.attempts("msg_1")).toEqual([]);
        expect((await s.delivery.passState()).webhooks.find((w) => w.id === "w2")!.cursorSeq).toBe(0);
        // Recorded by the next pass that works, under the same lease.
        expect((await pass(s, { now: T + 3, ended: [ended(c!, { kind: "delivered" }, T + 3)] })).recorded).toEqual([true]);
      }),
    );
  });

  describe("leases and dead letters", () => {
    test(
      "releaseLeases frees what a previous run held; requeueDead puts dead batches back, due now",
      withStore(setup, async (env) => {
        const s = await env.open();
        await s.events.insert(rowsOf(10, "e"), [], "api", T);
        await s.webhooks.insert(webhookRow("w1"));
        const w = { id: "w1", version: T };
        await pass(s, { cuts: [cutOf(w, 0, 10, "msg_1")] });
        expect((await pass(s, { now: T + 1, claims: [claimOf(w)] })).claims.length).toBe(1);
        expect(await s.delivery.releaseLeases()).toBe(1);
        const [c] = (await pass(s, { now: T + 2, claims: [claimOf(w)] })).claims;
        await pass(s, { now: T + 3, ended: [ended(c!, { kind: "dead" }, T + 3)] });
        expect((await s.views.batch("w1", "msg_1"))!.state).toBe("dead");
        expect(await s.views.queues([{ id: "w1", cursorSeq: 10, events: ["*"] }])).toEqual([
          { depth: 0, pendingBatches: 0, deadBatches: 1, oldestPendingAt: null },
        ]);
        expect(await s.delivery.requeueDead("w1", T + 10, ["other"])).toBe(0);
        expect(await s.delivery.requeueDead("w1", T + 10)).toBe(1);
        expect((await pass(s, { now: T + 10, claims: [claimOf(w)] })).claims.map((x) => x.batch.id)).toEqual(["msg_1"]);
        expect(await s.delivery.releaseLeases()).toBe(1);
        expect(await s.delivery.releaseLeases()).toBe(0);
      }),
    );
  });
}
