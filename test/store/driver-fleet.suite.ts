// The shared driver suite, fleets: several nodes, each its own pool, passing over the same
// webhooks at the same time. Only for drivers whose nodes are separate (setup.fleet); part of
// driver.suite.ts. Passes run concurrently (Promise.all over two pools of two connections) and
// every claim is held until the round ends, so a second claim of a webhook in a round is a
// double send, whatever order the transactions happened to run in.
import { describe, expect, test } from "bun:test";
import type { PassOutcome, PlannedCut, Store } from "../../src/store/driver.ts";
import { claimOf, cutOf, type DriverSetup, ended, LEASE, pass, rowsOf, T, webhookRow, withStore } from "./driver-env.ts";

const HOOKS = Array.from({ length: 12 }, (_, i) => `w${String(i).padStart(2, "0")}`);
const BATCHES = 4;

/** Webhooks each with BATCHES batches of 5 events, cut in order: `${w}_${k}`. */
async function fleetOf(s: Store, hooks: readonly string[]): Promise<void> {
  await s.events.insert(rowsOf(5 * BATCHES, "e"), [], "api", T);
  for (const id of hooks) await s.webhooks.insert(webhookRow(id));
  const cuts = hooks.flatMap((id) => Array.from({ length: BATCHES }, (_, k) => cutOf({ id, version: T }, 5 * k, 5 * k + 5, `${id}_${k}`)));
  await pass(s, { cuts });
}

type Held = PassOutcome["claims"][number] & { node: Store };

export function fleetCases(setup: DriverSetup): void {
  describe("a fleet of nodes", () => {
    test(
      "two nodes passing at once never claim the same batch, nor a batch behind a head the other holds",
      withStore(setup, async (env) => {
        const [a, b] = [await env.open("node-a"), await env.open("node-b")];
        await fleetOf(a, HOOKS);
        const w = (id: string) => ({ id, version: T });
        for (let round = 0; round < BATCHES; round++) {
          const now = T + 1 + round;
          // Three passes per node at once; node b asks for two slots, but one head is all a webhook has.
          const passes = [a, a, a, b, b, b].map(async (node) => {
            const slots = node === a ? 1 : 2;
            const out = await pass(node, { now, claims: HOOKS.map((id) => claimOf(w(id), slots, 1)) });
            return out.claims.map((c): Held => ({ ...c, node }));
          });
          const held = (await Promise.all(passes)).flat();
          expect(held.map((c) => c.batch.id).sort()).toEqual(HOOKS.map((id) => `${id}_${round}`));
          expect(held.every((c) => c.batch.attempts === 1)).toBe(true);
          // Each node records what it holds, both at once.
          const records = [a, b].map((node) =>
            pass(node, {
              now,
              ended: held.filter((c) => c.node === node).map((c) => ended(c, { kind: "delivered" }, now)),
            }),
          );
          expect((await Promise.all(records)).flatMap((r) => r.recorded)).toEqual(Array(HOOKS.length).fill(true));
        }
        expect((await b.delivery.passState()).pending).toEqual(new Map());
      }),
    );

    test(
      "a lease that expires on node a is claimed by node b: the same batch and body, one attempt more",
      withStore(setup, async (env) => {
        const [a, b] = [await env.open("node-a"), await env.open("node-b")];
        await fleetOf(a, ["w1"]);
        const w = { id: "w1", version: T };
        const [ca] = (await pass(a, { now: T + 1, claims: [claimOf(w)] })).claims;
        expect((await pass(b, { now: T + LEASE, claims: [claimOf(w)] })).claims).toEqual([]);
        const [cb] = (await pass(b, { now: T + LEASE + 2, claims: [claimOf(w)] })).claims;
        expect(cb!.batch).toEqual({ ...ca!.batch, attempts: 2 });
        expect(cb!.token).not.toBe(ca!.token);
        expect(await b.delivery.body(cb!.batch)).toEqual(await a.delivery.body(ca!.batch));
        const outcomes = await Promise.all([
          pass(a, { now: T + LEASE + 3, ended: [ended(ca!, { kind: "delivered" }, T + LEASE + 3)] }),
          pass(b, { now: T + LEASE + 3, ended: [ended(cb!, { kind: "retry", nextAttemptAt: T + LEASE + 9 }, T + LEASE + 3)] }),
        ]);
        expect(outcomes.map((o) => o.recorded)).toEqual([[false], [true]]);
        // The retry waits its turn, on either node; w1_1 stays behind it.
        const later = await pass(a, { now: T + LEASE + 4, claims: [claimOf(w, 1, 2)] });
        expect([later.claims.map((c) => c.batch.id), later.nextDueAt]).toEqual([["w1_1"], T + LEASE + 9]);
      }),
    );

    test(
      "releaseLeases on node a frees node a's leases only: node b's stay claimed",
      withStore(setup, async (env) => {
        const [a, b] = [await env.open("node-a"), await env.open("node-b")];
        await fleetOf(a, ["w1", "w2"]);
        const [w1, w2] = [
          { id: "w1", version: T },
          { id: "w2", version: T },
        ];
        expect((await pass(a, { now: T + 1, claims: [claimOf(w1)] })).claims.map((c) => c.batch.id)).toEqual(["w1_0"]);
        const [cb] = (await pass(b, { now: T + 1, claims: [claimOf(w2)] })).claims;
        expect(await a.delivery.releaseLeases()).toBe(1);
        // b's lease is live: a gets nothing of w2; a's was released: b may send w1_0 at once.
        expect((await pass(a, { now: T + 2, claims: [claimOf(w2)] })).claims).toEqual([]);
        const again = await pass(b, { now: T + 2, claims: [claimOf(w1)], ended: [ended(cb!, { kind: "delivered" }, T + 2)] });
        expect([again.recorded, again.claims.map((c) => [c.batch.id, c.batch.attempts])]).toEqual([[true], [["w1_0", 2]]]);
        expect([await a.delivery.releaseLeases(), await b.delivery.releaseLeases(), await b.delivery.releaseLeases()]).toEqual([0, 1, 0]);
      }),
    );

    test(
      "a cut raced by two nodes from the same cursor is written once, while both record their attempts",
      withStore(setup, async (env) => {
        const [a, b] = [await env.open("node-a"), await env.open("node-b")];
        await a.events.insert(rowsOf(20, "e"), [], "api", T);
        for (const id of HOOKS) await a.webhooks.insert(webhookRow(id));
        const members = HOOKS.map((id) => ({ webhookId: id, cursorSeq: 0, version: T }));
        // Each webhook's first cut, planned by both nodes from cursor 0: one pass per webhook per node, all at once.
        const single = (node: string) => HOOKS.map((id) => cutOf({ id, version: T }, 0, 10, `${node}_${id}_0`));
        const first = await Promise.all([
          ...single("a").map((c) => pass(a, { cuts: [c] })),
          ...single("b").map((c) => pass(b, { cuts: [c] })),
        ]);
        expect(first.flatMap((o) => o.cut).sort()).toEqual(HOOKS);
        // a holds the first half's heads, b the second's.
        const half = HOOKS.length / 2;
        const claims = (ids: readonly string[]) => ids.map((id) => claimOf({ id, version: T }));
        const [ha, hb] = [
          (await pass(a, { now: T + 1, claims: claims(HOOKS.slice(0, half)) })).claims,
          (await pass(b, { now: T + 1, claims: claims(HOOKS.slice(half)) })).claims,
        ];
        expect(ha.length + hb.length).toBe(HOOKS.length);
        // Then each records its attempts and cuts the next batch for the whole group, members
        // listed in opposite orders: the two passes lock the same rows, and must not deadlock.
        const group = (node: string, order: readonly number[]): PlannedCut => ({
          members: order.map((i) => ({ ...members[i]!, cursorSeq: 10 })),
          batches: [
            {
              ids: order.map((i) => `${node}_${HOOKS[i]}_1`),
              body: new TextEncoder().encode(node),
              eventCount: 10,
              firstSeq: 11,
              lastSeq: 20,
              toSeq: 20,
            },
          ],
          cursorTo: 20,
          now: T + 2,
        });
        const order = HOOKS.map((_, i) => i);
        const [pa, pb] = await Promise.all([
          pass(a, { now: T + 2, ended: ha.map((c) => ended(c, { kind: "delivered" }, T + 2)), cuts: [group("a", order)] }),
          pass(b, { now: T + 2, ended: hb.map((c) => ended(c, { kind: "delivered" }, T + 2)), cuts: [group("b", [...order].reverse())] }),
        ]);
        expect([...pa.recorded, ...pb.recorded]).toEqual(Array(HOOKS.length).fill(true));
        const winner = pa.cut.length ? "a" : "b";
        expect([...pa.cut, ...pb.cut].sort()).toEqual(HOOKS);
        const state = await b.delivery.passState();
        expect(state.webhooks.every((w) => w.cursorSeq === 20)).toBe(true);
        expect(state.pending).toEqual(new Map(HOOKS.map((id) => [id, 1])));
        const next = await pass(b, { now: T + 3, claims: claims(HOOKS) });
        expect(next.claims.map((c) => c.batch.id).sort()).toEqual(HOOKS.map((id) => `${winner}_${id}_1`));
        expect(new Set(next.claims.map((c) => c.batch.body_id)).size).toBe(1);
      }),
    );
  });
}
