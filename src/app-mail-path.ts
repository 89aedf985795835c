import os from "node:os";
import type { createHookdMetrics } from "./app-metrics.ts";
import { type Config, parseListen } from "./config/schema.ts";
import type { Logger } from "./lib/log.ts";
import { createMilterListener, type MilterListener } from "./track/milter-client.ts";
import { storeTarget } from "./store/open.ts";
import { workerInit } from "./track/settings.ts";
import { createTrackingListener, type TrackingListener } from "./track/worker-client.ts";

// The mail path's two listeners, each on a thread of its own, built from the config for the
// composition root: the public tracking listener and the milter.

/** Threads open the store with connections of their own: an in-memory SQLite store is not shared. */
const inMemory = (config: Config) => config.storage.driver === "sqlite" && config.storage.path === ":memory:";

export function startTracking(
  config: Config,
  log: Logger,
  metrics: ReturnType<typeof createHookdMetrics>,
  wake: () => void,
): TrackingListener {
  if (inMemory(config)) throw new Error('tracking.listen needs storage.path to be a file, not ":memory:"');
  const listen = parseListen(config.tracking.listen)!;
  const init = workerInit(config.tracking, { store: storeTarget(config.storage), logLevel: log.level, host: os.hostname(), listen });
  const listener = createTrackingListener(init, log, {
    onStored: (types) => {
      metrics.eventsCounted(types, "tracking");
      wake();
    },
    onCounts: metrics.trackingCounts,
  });
  metrics.trackingListener(() => listener.up);
  return listener;
}

export function startMilter(config: Config, log: Logger, metrics: ReturnType<typeof createHookdMetrics>): MilterListener {
  if (inMemory(config)) throw new Error('milter.listen needs storage.path to be a file, not ":memory:"');
  const t = config.tracking;
  // Events from the milter name the MTA as its log's events do: the host of the Postfix source.
  const host = config.sources.find((s) => s.format === "postfix")?.host ?? os.hostname();
  // [feedback] verp: tracked mail gets the envelope sender bounces+<token>@<verp domain>.
  const verpDomain = config.feedback.verp;
  const listener = createMilterListener(
    {
      store: storeTarget(config.storage),
      logLevel: log.level,
      listen: config.milter.listen,
      mode: config.milter.track,
      settings: { baseUrl: t.base_url, opens: t.opens, clicks: t.clicks, unsubscribe: t.unsubscribe },
      host,
      verpDomain,
      maxBytes: config.milter.max_message_size,
      timeoutMs: config.milter.timeout,
    },
    log,
    metrics.milterCounts,
  );
  metrics.milterListener(() => listener.up);
  return listener;
}
