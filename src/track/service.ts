import type { TrackingConfig } from "../config/schema.ts";
import { ServiceError } from "../lib/errors.ts";
import type { MinuteCounts, Store } from "../store/driver.ts";
import { keyringSource, keyViews, KeyringError, rotateStoredKeyring, type KeyView } from "./keystore.ts";
import { trackMessage, type MessageToTrack, type TrackedMessage } from "./message.ts";
import { zeroCounts, type TrackingListener, type TrackingTotals } from "./worker-client.ts";

// Tracking as the API sees it: rewrite a message, rotate the key, the listener's status and
// the recorded counts over time. Runs on the main thread with the main store.

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
  status(): Promise<TrackingStatus>;
  rewrite(message: MessageToTrack): Promise<TrackedMessage>;
  rotateKey(): Promise<KeyView[]>;
  stats(range: StatsRange): Promise<{ bucket_seconds: number; buckets: StatsBucket[] }>;
};

export function createTrackingService(deps: {
  store: Store;
  config: TrackingConfig;
  listener: TrackingListener | null;
  now: () => number;
}): TrackingService {
  const { store, config } = deps;
  const keys = keyringSource(store);
  return {
    async status() {
      return {
        enabled: config.listen !== "",
        listen: config.listen,
        base_url: config.base_url,
        up: deps.listener?.up ?? false,
        address: deps.listener?.url ?? null,
        counts: deps.listener?.totals() ?? zeroCounts(),
        keys: keyViews(await keys.get()),
      };
    },
    async rewrite(message) {
      if (config.base_url === "") {
        throw new ServiceError({
          message: "tracking is not configured: set [tracking] base_url (and listen, to serve the links) in hookd.toml",
          code: "conflict",
        });
      }
      const settings = { baseUrl: config.base_url, opens: config.opens, clicks: config.clicks, unsubscribe: config.unsubscribe };
      return trackMessage(store, message, { settings, keyring: await keys.get(), now: deps.now() });
    },
    async rotateKey() {
      try {
        await rotateStoredKeyring(store, config.key_verify_for, deps.now());
      } catch (err) {
        if (err instanceof KeyringError) throw new ServiceError({ message: err.message, code: "conflict" });
        throw err;
      }
      return keyViews(await keys.refresh());
    },
    async stats(range) {
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
      for (const row of await store.tracking.minuteCounts(first, last + minutes)) {
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
