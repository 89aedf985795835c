import type { Database } from "bun:sqlite";
import type { KeyringRow, TrackingStore } from "../contract/tracking.ts";
import { hitsUnit } from "./hits.ts";
import {
  insertTrackedMessage,
  keyringRow,
  keyringVersion,
  minuteCounts,
  pruneMinutes,
  putKeyringRow,
  trackedMessageData,
} from "./tracking.ts";

// Tracking on SQLite: the keyring row, tracked messages, the hits' commit (hits.ts) and the
// minute counts, each method a whole transaction or one read.

export function trackingStore(db: Database, durability: "full" | "normal"): TrackingStore {
  const updateKeyring = db.transaction((update: (current: string | null) => string | null, now: number): KeyringRow | null => {
    const row = keyringRow(db);
    const next = update(row?.ring ?? null);
    if (next === null) return row;
    return { ring: next, version: putKeyringRow(db, next, now) };
  });
  const insertMessages = db.transaction((data: readonly string[], now: number) => data.map((d) => insertTrackedMessage(db, d, now)));
  const commitHits = hitsUnit(db, durability);
  return {
    keyring: async () => keyringRow(db),
    keyringVersion: async () => keyringVersion(db),
    updateKeyring: async (update, now) => updateKeyring.immediate(update, now),
    insertMessages: async (data, now) => insertMessages.immediate(data, now),
    messages: async (ids) => {
      const out = new Map<number, string>();
      for (const id of ids) {
        const data = trackedMessageData(db, id);
        if (data !== null) out.set(id, data);
      }
      return out;
    },
    commitHits: async (hits, opts) => commitHits(hits, opts),
    minuteCounts: async (from, to) => minuteCounts(db, from, to),
    pruneMinutes: async (minute) => pruneMinutes(db, minute),
  };
}
