import type { Database } from "bun:sqlite";
import type { TrackingConfig } from "../config/schema.ts";
import { ServiceError } from "../lib/errors.ts";
import { minuteCounts, type MinuteCounts } from "../store/tracking.ts";
import { keyringSource, keyViews, KeyringError, rotateStoredKeyring, type KeyView } from "./keystore.ts";
import { trackMessage, type MessageToTrack, type TrackedMessage } from "./message.ts";
import { zeroCounts, type TrackingListener, type TrackingTotals } from "./worker-client.ts";

// Tracking as the API sees it: rewrite a message, rotate the key, the listener's status and
// the recorded counts over time. Runs on the main thread with the main connection.

export const STATS_RANGES = {
  hour: { buckets: 60, minutes: 1 },
  day: { buckets: 24, minutes: 60 },
  week: { buckets: 7 * 24, minutes: 60 },
} as const;
export type StatsRange = keyof typeof STATS_RANGES;

export type TrackingStatus = {
  /** Whether tracking.listen is set. */
  enabled: boolean;
  listen: string;
  base_url: string;
  /** Whether the listener is serving now. */
  up: boolean;
  /** Where it listens (the port chosen when listen ends in :0); null when not up. */
  address: string | null;
  counts: TrackingTotals;
  keys: KeyView[];
};

export type StatsBucket = MinuteCounts & { start: string };

export type TrackingService = {
  status(): TrackingStatus;
  rewrite(message: MessageToTrack): TrackedMessage;
  rotateKey(): KeyView[];
  stats(range: StatsRange): { bucket_seconds: number; buckets: StatsBucket[] };
};

export function createTrackingService(deps: {
  db: Database;
  config: TrackingConfig;
  listener: TrackingListener | null;
  now: () => number;
}): TrackingService {
  const { db, config } = deps;
  const keys = keyringSource(db);
  return {
    status() {
      return {
        enabled: config.listen !== "",
        listen: config.listen,
        base_url: config.base_url,
        up: deps.listener?.up ?? false,
        address: deps.listener?.url ?? null,
        counts: deps.listener?.totals() ?? zeroCounts(),
        keys: keyViews(keys.get()),
      };
    },
    rewrite(message) {
      if (config.base_url === "") {
        throw new ServiceError({
          message: "tracking is not configured: set [tracking] base_url (and listen, to serve the links) in hookd.toml",
          code: "conflict",
        });
      }
      const settings = { baseUrl: config.base_url, opens: config.opens, clicks: config.clicks, unsubscribe: config.unsubscribe };
      return trackMessage(db, message, { settings, keyring: keys.get(), now: deps.now() });
    },
    rotateKey() {
      try {
        rotateStoredKeyring(db, config.key_verify_for, deps.now());
      } catch (err) {
        if (err instanceof KeyringError) throw new ServiceError({ message: err.message, code: "conflict" });
        throw err;
      }
      return keyViews(keys.refresh());
    },
    stats(range) {
      const { buckets, minutes } = STATS_RANGES[range];
      const nowMinute = Math.floor(deps.now() / 60_000);
      // Buckets end with the current one; hour-long buckets start on the hour.
      const last = Math.floor(nowMinute / minutes) * minutes;
      const first = last - (buckets - 1) * minutes;
      const out: StatsBucket[] = Array.from({ length: buckets }, (_, i) => ({
        start: new Date((first + i * minutes) * 60_000).toISOString(),
        opens: 0,
        machine_opens: 0,
        clicks: 0,
        machine_clicks: 0,
        unsubscribes: 0,
      }));
      for (const row of minuteCounts(db, first, last + minutes)) {
        const b = out[Math.floor((row.minute - first) / minutes)]!;
        b.opens += row.opens;
        b.machine_opens += row.machine_opens;
        b.clicks += row.clicks;
        b.machine_clicks += row.machine_clicks;
        b.unsubscribes += row.unsubscribes;
      }
      return { bucket_seconds: minutes * 60, buckets: out };
    },
  };
}
