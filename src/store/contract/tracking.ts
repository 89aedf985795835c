import type { Event } from "../../events/schema.ts";

// Tracking's rows: the keyring that signs tracked links, tracked messages (campaign data),
// and the commit of the listener's hits. Plain text in and out: the keyring's shape and the
// campaign data's are track/'s to check.

export type KeyringRow = { ring: string; version: number };

export type MinuteCounts = { opens: number; machine_opens: number; clicks: number; machine_clicks: number; unsubscribes: number };

/** An open, click or one-click unsubscribe, as receivers get it. */
export type HitEvent = Extract<Event, { type: "open" | "click" | "list_unsubscribe" }>;

/**
 * One hit to commit: its event (whose `first` the commit sets), the key that decides `first`
 * (event type, message and recipient), and the unix minute it counts in.
 */
export type HitRow = { event: HitEvent; firstKey: string; minute: number };

export type HitCommit = {
  /** Events stored by type (duplicates — a same-second re-fetch, a repeated one-click — left out). */
  stored: Record<string, number>;
  /** Of those, marked machine. */
  machine: number;
};

export interface TrackingStore {
  /** The stored ring (JSON text) and its version; null when there is none yet. */
  keyring(): Promise<KeyringRow | null>;
  /** The stored ring's version (grows with every write), 0 when there is none: one point read, asked often. */
  keyringVersion(): Promise<number>;
  /**
   * Key creation and rotation, one write transaction: `update` gets the stored ring (null: none)
   * and returns the ring to store, or null to keep it. It runs inside the transaction, so it
   * must be synchronous and must not touch the store; when it throws nothing is written and
   * the error is the call's. Resolves with the row stored after (null: none).
   */
  updateKeyring(update: (current: string | null) => string | null, now: number): Promise<KeyringRow | null>;
  /** Tracked messages' data (JSON), one write transaction, durable when it resolves; their ids (the `ref` tokens carry), in order. */
  insertMessages(data: readonly string[], now: number): Promise<number[]>;
  /** The data of the tracked messages that exist among `ids`. Rows are never changed once written. */
  messages(ids: readonly number[]): Promise<Map<number, string>>;
  /**
   * The tracking writer's commit, one write transaction: for each hit in order, `first` is
   * claimed (true only the first time its key is ever claimed, within the batch too) and set
   * on its event; the events are stored as POST /events stores them (source "tracking", ids
   * already stored skipped) and those stored are counted into their minute. Atomic; fsynced
   * only when `durable` (a batch holding a one-click unsubscribe, whose 200 says "recorded").
   */
  commitHits(hits: readonly HitRow[], opts: { durable: boolean; now: number }): Promise<HitCommit>;
  /** The minutes in [from, to) that have counts, oldest first. */
  minuteCounts(from: number, to: number): Promise<(MinuteCounts & { minute: number })[]>;
  /** Drops the counts of minutes before `minute`; how many rows went. */
  pruneMinutes(minute: number): Promise<number>;
}
