import { parseFeedbackListen, type FeedbackConfig } from "../config/schema.ts";
import type { Logger } from "../lib/log.ts";
import type { Store } from "../store/driver.ts";
import { intakeDeps } from "./intake.ts";
import { LmtpIntake } from "./lmtp.ts";
import { startLookupIndexer } from "./lookup-indexer.ts";
import { TemporaryFailure } from "./process.ts";
import { FeedbackStats, type FeedbackStatus } from "./stats.ts";
import type { TokenVerifier } from "./store-lookup.ts";

// The feedback side of `hookd serve`: the LMTP listener when [feedback] listen is set, and
// always the lookup index's background job (it works only once some intake — this listener or
// a `hookd feedback` pipe — has activated the index). Started after the delivery engine (a
// commit wakes it), stopped before it: the listener answers the messages in hand first.

export interface FeedbackService {
  /** Where the LMTP listener is ("127.0.0.1:8024", "unix:/run/hookd/lmtp.sock"); null when off. */
  readonly listening: string | null;
  /** The LMTP port actually bound (tests ask for port 0); null for a socket or when off. */
  readonly port: number | null;
  /** Counters and unparsed samples of this process's listener; null when off. */
  status(): FeedbackStatus | null;
  stop(): Promise<void>;
}

export interface FeedbackServiceOptions {
  store: Store;
  config: FeedbackConfig;
  hostname: string;
  log: Logger;
  tokens?: TokenVerifier;
  onStored?: (types: string[]) => void;
}

export async function startFeedback(opts: FeedbackServiceOptions): Promise<FeedbackService> {
  const indexer = startLookupIndexer(opts.store, opts.log);
  const where = opts.config.listen === "" ? null : parseFeedbackListen(opts.config.listen);
  if (!where) return { listening: null, port: null, status: () => null, stop: () => indexer.stop() };

  await opts.store.feedback.activateIndex();
  const stats = new FeedbackStats();
  const intake = new LmtpIntake({
    ...intakeDeps({ ...opts, stats }),
    listenHost: "host" in where ? where.host : "",
    listenPort: "port" in where ? where.port : 0,
    ...("path" in where ? { listenPath: where.path } : {}),
    maxBytes: opts.config.max_size,
    name: opts.hostname,
    onError: (err) => {
      if (err instanceof TemporaryFailure)
        opts.log.warn("feedback: report refused with 451, the MTA will retry it", { error: err.message });
      else opts.log.error("feedback: LMTP listener error", { error: err instanceof Error ? err.message : String(err) });
    },
  });
  let bound: Awaited<ReturnType<LmtpIntake["start"]>>;
  try {
    bound = await intake.start();
  } catch (err) {
    await indexer.stop();
    throw new Error(`cannot listen on feedback.listen ${opts.config.listen}: ${(err as Error).message}`);
  }
  const listening =
    bound.path !== undefined ? `unix:${bound.path}` : `${bound.host.includes(":") ? `[${bound.host}]` : bound.host}:${bound.port}`;
  opts.log.info("feedback LMTP listener started", { listen: listening });
  return {
    listening,
    port: bound.path !== undefined ? null : bound.port,
    status: () => stats.status(),
    async stop() {
      await intake.stop();
      await indexer.stop();
    },
  };
}
