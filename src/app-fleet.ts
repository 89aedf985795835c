import { HEARTBEAT_MS, nodeName } from "./config/storage.ts";
import type { Config } from "./config/schema.ts";
import type { Logger } from "./lib/log.ts";
import { type Periodic, startPeriodic, type Timers } from "./lib/periodic.ts";
import type { Store } from "./store/driver.ts";

// What a node does for the fleet beside its own work: a heartbeat (its row in `nodes`: last
// seen, version, its sources, for /status on any node), and on PostgreSQL a poll that wakes
// this node's delivery when another node stored events, changed a webhook or cut a batch.
// Each node wakes itself for its own writes; the poll only shortens the wait for the others'
// (Bun 1.3.14's SQL has no LISTEN; bench/pg-spike/DESIGN.md measured 50 ms polls at ~1% CPU).

export const WAKE_POLL_MS = 100;

export type FleetDeps = {
  store: Store;
  config: Config;
  version: string;
  log: Logger;
  now: () => number;
  /** This node's sources as /status shows them. */
  sources: () => unknown[];
  /** Wakes this node's delivery engine. */
  wake: () => void;
  timers?: Timers;
};

export type Fleet = { readonly node: string; tick(): Promise<void>; stop(): Promise<void> };

/** Starts the loops, the first heartbeat written before it resolves (so /status lists this node from the start). */
export async function startFleet(deps: FleetDeps): Promise<Fleet> {
  const node = nodeName(deps.config.storage);
  const startedAt = deps.now();
  let heartbeatFailing = false;
  const heartbeat = startPeriodic({
    firstMs: HEARTBEAT_MS,
    everyMs: HEARTBEAT_MS,
    timers: deps.timers,
    run: async () => {
      await deps.store.meta.heartbeat({
        name: node,
        startedAt,
        lastSeenAt: deps.now(),
        version: deps.version,
        sources: deps.sources(),
      });
      if (heartbeatFailing) deps.log.info("fleet: heartbeat written again", { node });
      heartbeatFailing = false;
    },
    onError: (err) => {
      if (!heartbeatFailing)
        deps.log.warn("fleet: the heartbeat could not be written; trying again", { node, error: (err as Error).message });
      heartbeatFailing = true;
    },
  });
  let mark: string | null = null;
  const wakePoll: Periodic | null =
    deps.store.kind === "postgres"
      ? startPeriodic({
          firstMs: WAKE_POLL_MS,
          everyMs: WAKE_POLL_MS,
          timers: deps.timers,
          run: async () => {
            const next = await deps.store.meta.changeMark();
            if (mark !== null && next !== mark) deps.wake();
            mark = next;
          },
          // The database down: the API answers 503 and delivery retries on its own; nothing to add.
          onError: () => {},
        })
      : null;
  await heartbeat.tick();
  return {
    node,
    async tick() {
      await Promise.all([heartbeat.tick(), wakePoll?.tick()]);
    },
    async stop() {
      await Promise.all([heartbeat.stop(), wakePoll?.stop()]);
    },
  };
}
