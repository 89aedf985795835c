// Arrival-time queries without an index on received_at: a binary search over seq, which is
// only right if it finds the same boundary a scan would, with retention's gaps at the old end
// and several events stored in the same millisecond.
import { afterEach, describe, expect, test } from "bun:test";
import path from "node:path";
import type { Event } from "../../src/events/schema.ts";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/driver.ts";
import { eventRows } from "../../src/store/event-rows.ts";
import { eventsPerMinute, firstSeqReceivedFrom, insertEvents, insertRowsTx } from "../../src/store/sqlite/events.ts";
import { tempDir } from "../helpers/hookd.ts";
import { sqliteOf } from "../../src/store/sqlite/driver.ts";

let store: Store | null = null;
afterEach(() => {
  store?.close();
  store = null;
});

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

/** Stores one event per entry of `arrivals` (ms), in order; returns the store. */
function storeWith(arrivals: number[]): Store {
  store = openStore(path.join(tempDir(), "hookd.db"));
  arrivals.forEach((at, i) => {
    const e = { event_id: `e${i}`, type: "delivery", timestamp: new Date(at).toISOString(), host: "mx1" } as Event;
    insertEvents(sqliteOf(store!), [e], "api", at);
  });
  return store;
}

/** What a full scan says: the first seq received at or after t, or MAX(seq)+1. */
function scan(s: Store, t: number): number {
  const r = sqliteOf(s).query("SELECT MIN(seq) AS s FROM events WHERE received_at >= ?").get(t) as { s: number | null };
  return r.s ?? (sqliteOf(s).query("SELECT COALESCE(MAX(seq), 0) + 1 AS m FROM events").get() as { m: number }).m;
}

describe("firstSeqReceivedFrom", () => {
  test("agrees with a full scan at every probe, including repeats, gaps and both ends", () => {
    // 300 events, several per millisecond, with irregular steps between them.
    const arrivals: number[] = [];
    let t = T0;
    for (let i = 0; i < 300; i++) arrivals.push((t += i % 4 === 0 ? 0 : (i * 37) % 1000));
    const s = storeWith(arrivals);
    sqliteOf(s).run("DELETE FROM events WHERE seq <= 40"); // what retention leaves behind
    const probes = [
      T0 - 1,
      T0,
      ...arrivals.filter((_, i) => i % 7 === 0),
      ...arrivals.map((a) => a + 1).filter((_, i) => i % 11 === 0),
      t,
      t + 1,
    ];
    for (const p of probes) expect(firstSeqReceivedFrom(sqliteOf(s), p)).toBe(scan(s, p));
  });

  test("an empty store answers 1", () => {
    expect(firstSeqReceivedFrom(sqliteOf(storeWith([])), T0)).toBe(1);
  });
});

describe("eventsPerMinute", () => {
  test("counts events by arrival minute, oldest first, zero for quiet minutes", () => {
    const now = T0 + 4 * 60_000 + 30_000; // 12:04:30: the window is 12:00 … 12:04
    const arrivals = [T0 - 60_000, T0, T0 + 59_999, T0 + 60_000, T0 + 3 * 60_000 + 1, T0 + 3 * 60_000 + 2, T0 + 4 * 60_000, now];
    expect(eventsPerMinute(sqliteOf(storeWith(arrivals)), now, 5)).toEqual([2, 1, 0, 2, 2]);
  });
});

describe("insertRowsTx", () => {
  test("reports the types of the rows it stored: rows read again (same event_id) are neither stored nor counted", () => {
    const s = storeWith([]);
    const events = ["delivery", "bounce", "delivery"].map(
      (type, i) => ({ event_id: `r${i}`, type, timestamp: new Date(T0 + i).toISOString(), host: "mx1" }) as Event,
    );
    const first = insertRowsTx(sqliteOf(s), eventRows(events), "/var/log/mail.log");
    expect(first).toEqual({ inserted: 3, duplicates: 0, types: ["delivery", "bounce", "delivery"] });
    const again = insertRowsTx(sqliteOf(s), eventRows([...events.slice(1), { ...events[0]!, event_id: "r3" }]), "/var/log/mail.log");
    expect(again).toEqual({ inserted: 1, duplicates: 2, types: ["delivery"] });
    const bodies = (sqliteOf(s).query("SELECT event_id, body FROM events ORDER BY seq").all() as { event_id: string; body: string }[]).map(
      (r) => [r.event_id, JSON.parse(r.body).type],
    );
    expect(bodies).toEqual([
      ["r0", "delivery"],
      ["r1", "bounce"],
      ["r2", "delivery"],
      ["r3", "delivery"],
    ]);
  });
});
