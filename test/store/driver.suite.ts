// One suite, every driver: what any StoreDriver must do, asserted through the interface only
// (no SQL), as hono runs one test suite over all its routers. driver.test.ts runs it for each
// driver (describe.each); a driver joins by adding its DriverSetup there. Cases that only a
// driver with several nodes can fail (writers on two nodes committing out of seq order, leases
// per node) belong in a suite of their own run over those drivers: `fleet` says whether a
// setup's nodes are separate (SQLite's "nodes" are connections to one file).
import { describe, expect, test } from "bun:test";
import { ROW_WIDTH } from "../../src/store/event-rows.ts";
import { adminCases } from "./driver-admin.suite.ts";
import { batchCases } from "./driver-batches.suite.ts";
import { deliveryCases } from "./driver-delivery.suite.ts";
import { type DriverSetup, rowsOf, T, withStore } from "./driver-env.ts";
import { eventCases } from "./driver-events.suite.ts";
import { fleetCases } from "./driver-fleet.suite.ts";
import { unitCases } from "./driver-units.suite.ts";

export type { DriverEnv, DriverSetup } from "./driver-env.ts";

export function driverSuite(setup: DriverSetup): void {
  describe("events", () => {
    test(
      "stored once: ids already stored are skipped (not an error), in seq order, custom names kept",
      withStore(setup, async (env) => {
        const s = await env.open();
        expect(await s.events.insert(rowsOf(50, "e"), [], "api", T)).toEqual({ inserted: 50, duplicates: 0 });
        expect(await s.events.insert(rowsOf(60, "e"), ["profile.created"], "api", T)).toEqual({ inserted: 10, duplicates: 50 });
        const seen = await s.events.after(0, 1000);
        expect(seen.map((e) => (JSON.parse(e.body) as { event_id: string }).event_id)).toEqual(
          Array.from({ length: 60 }, (_, i) => `e-${String(i + 1).padStart(6, "0")}`),
        );
        expect(seen.every((e, i) => i === 0 || e.seq > seen[i - 1]!.seq)).toBe(true);
        expect(await s.events.maxSeq()).toBe(seen[59]!.seq);
        expect(await s.events.after(seen[49]!.seq, 5)).toEqual(seen.slice(50, 55));
        expect(await s.events.customTypes()).toEqual(["profile.created"]);
      }),
    );

    test(
      "a batch is all or nothing: one bad row stores none of it",
      withStore(setup, async (env) => {
        const s = await env.open();
        const bad = rowsOf(10, "b");
        bad.cols[5 * ROW_WIDTH] = null; // the sixth event without an id
        await expect(s.events.insert(bad, [], "api", T)).rejects.toThrow();
        expect(await s.events.maxSeq()).toBe(0);
      }),
    );

    test(
      "search: newest first, filtered, in pages that never overlap",
      withStore(setup, async (env) => {
        const s = await env.open();
        await s.events.insert(rowsOf(7, "s"), [], "api", T);
        const first = await s.events.search({ types: ["delivery"], limit: 4 });
        expect(first.events.map((e) => e.event_id)).toEqual(["s-000007", "s-000006", "s-000005", "s-000004"]);
        const rest = await s.events.search({ limit: 4, cursor: first.next! });
        expect(rest.events.map((e) => e.event_id)).toEqual(["s-000003", "s-000002", "s-000001"]);
        expect(rest.next).toBeNull();
        expect((await s.events.search({ rcpt_to: "u2@example.org", limit: 10 })).events.map((e) => e.event_id)).toEqual(["s-000003"]);
        expect((await s.events.search({ types: ["bounce"], limit: 10 })).events).toEqual([]);
      }),
    );
  });

  describe("the ingest commit", () => {
    test(
      "events and the position after them together; a failing chunk stores neither",
      withStore(setup, async (env) => {
        const s = await env.open();
        const at = (offset: number) => ({ checkpoint: { dev: 1, ino: 2, fingerprint: "f", offset }, correlation: `{"at":${offset}}` });
        expect(await s.ingest.commit(rowsOf(10, "c1"), "/var/log/mail.log", at(100), T)).toEqual(Array(10).fill("delivery"));
        const bad = rowsOf(10, "c2");
        bad.cols[9 * ROW_WIDTH] = null;
        await expect(s.ingest.commit(bad, "/var/log/mail.log", at(200), T)).rejects.toThrow();
        expect(await s.ingest.checkpoint("/var/log/mail.log")).toEqual({
          checkpoint: { dev: 1, ino: 2, fingerprint: "f", offset: 100 },
          correlation: { at: 100 },
        });
        expect((await s.events.after(0, 100)).length).toBe(10);
        // Read again after a restart: the same ids are stored once, and not counted as stored.
        expect(await s.ingest.commit(rowsOf(12, "c1"), "/var/log/mail.log", null, T)).toEqual(["delivery", "delivery"]);
        expect((await s.ingest.checkpoint("/var/log/mail.log"))!.checkpoint.offset).toBe(100);
        expect(await s.ingest.checkpoint("/var/log/other.log")).toBeNull();
      }),
    );
  });

  eventCases(setup);
  deliveryCases(setup);
  batchCases(setup);
  unitCases(setup);
  adminCases(setup);
  if (setup.fleet) fleetCases(setup);
}
