import os from "node:os";
import { createApi } from "./api/app.ts";
import { serveApi, type ApiServer } from "./api/serve.ts";
import { createHookdMetrics } from "./app-metrics.ts";
import { createEngine, type Engine, type EngineDeps } from "./deliver/engine.ts";
import { OAuth2Tokens } from "./deliver/oauth2.ts";
import { startRetention } from "./deliver/retention.ts";
import { startDnsVerifier } from "./deliver/dns-verifier.ts";
import { startFeedback, type FeedbackService } from "./feedback/service.ts";
import { createSourcesWorker } from "./ingest/sources-worker.ts";
import type { Config } from "./config/schema.ts";
import { parseListen } from "./config/schema.ts";
import { createLogger, type Logger } from "./lib/log.ts";
import { SCOPES } from "./store/api-keys.ts";
import type { Store } from "./store/driver.ts";
import { openConfiguredStore } from "./store/configured.ts";
import { storeTarget } from "./store/open.ts";
import { ensureKeyring } from "./track/keystore.ts";
import { createTrackingService } from "./track/service.ts";
import type { TrackingListener } from "./track/worker-client.ts";
import type { MilterListener } from "./track/milter-client.ts";
import { VERSION } from "./version.ts";
import { startMilter, startTracking } from "./app-mail-path.ts";
import { startFleet } from "./app-fleet.ts";
import { nodeName } from "./config/storage.ts";

// What a SIGHUP applies; every other section keeps its start-up value until a restart.
const RELOADABLE = new Set<keyof Config>(["delivery", "events", "sources"]);

export type Hookd = {
  url: string;
  /** The feedback LMTP listener's address and bound port; null when [feedback] listen is off. */
  feedback: { listening: string; port: number | null } | null;
  store: Store;
  engine: Engine;
  reload(next: Config): Promise<void>;
  stop(): Promise<void>;
};

export type StartOptions = {
  config: Config;
  log?: Logger;
  /** Where the first-start admin key is announced; stderr, never the structured log. */
  announceKey?: (key: string) => void;
  /** Tests shorten the backoff; production uses the policy's defaults. */
  retryPolicy?: EngineDeps["retryPolicy"];
  /** Tests drive delivery: its clock (also OAuth2 token lifetimes), its jitter, and manual passes. */
  engine?: Pick<EngineDeps, "now" | "random" | "manual">;
};

function defaultAnnounce(key: string) {
  process.stderr.write(
    `\nhookd: no API key existed, so an admin key was created. It is shown this once:\n\n    ${key}\n\n` +
      `Use it as "Authorization: Bearer <key>". Make narrower keys with "hookd apikey create".\n\n`,
  );
}

/**
 * The composition root: config → lock → store → API server → delivery → ingest. Starts
 * parts in order and stops them in reverse, so nothing writes to a closed store.
 */
export async function startHookd(opts: StartOptions): Promise<Hookd> {
  const { config } = opts;
  const log = opts.log ?? createLogger({ level: config.log.level });
  const { store, release } = await openConfiguredStore(config.storage, log);
  const lock = { release };

  let first: Awaited<ReturnType<Store["keys"]["createFirst"]>>;
  try {
    first = await store.keys.createFirst("admin", SCOPES, Date.now());
  } catch (err) {
    await store.close();
    lock.release();
    throw err;
  }
  if (first) {
    log.info("created first admin API key", { key_id: first.info.id, prefix: first.info.prefix });
    (opts.announceKey ?? defaultAnnounce)(first.key);
  }

  const metrics = createHookdMetrics(store);
  metrics.node(nodeName(config.storage));
  const closing = new AbortController();
  let notify = () => {};
  // Tracking: the signing keys are made on first start; the public listener runs on its own
  // thread with its own connection (track/worker.ts) when [tracking] listen is set.
  let tracking: TrackingListener | null = null;
  try {
    await ensureKeyring(store);
    tracking = config.tracking.listen ? startTracking(config, log, metrics, () => notify()) : null;
    await tracking?.start();
  } catch (err) {
    await tracking?.stop();
    await store.close();
    lock.release();
    throw new Error(`cannot start tracking: ${(err as Error).message}`);
  }
  // The milter ([milter] listen) runs on its own thread with its own connection (track/milter-worker.ts).
  let milter: MilterListener | null = null;
  try {
    milter = config.milter.listen ? startMilter(config, log, metrics) : null;
    await milter?.start();
  } catch (err) {
    await milter?.stop();
    await tracking?.stop();
    await store.close();
    lock.release();
    throw new Error(`cannot start the milter: ${(err as Error).message}`);
  }
  // Ingest runs on its own thread, with its own connection to the store.
  const sources = createSourcesWorker(storeTarget(config.storage), log, {
    onEvents: (byType, source) => {
      metrics.eventsCounted(byType, source);
      notify();
    },
    onLines: metrics.linesRead,
  });
  // The settings in force: a reload replaces this object (never edits it), and every part
  // reads the reloadable ones through it when it uses them.
  let current = config;
  const timeoutMs = () => current.delivery.timeout;
  const attempt = {
    version: VERSION,
    get timeoutMs() {
      return timeoutMs();
    },
    allowPrivateTargets: config.security.allow_private_targets,
    tokens: new OAuth2Tokens({
      timeoutMs,
      allowPrivateTargets: config.security.allow_private_targets,
      version: VERSION,
      now: opts.engine?.now,
    }),
  };
  const engine = createEngine({
    store,
    delivery: () => current.delivery,
    log,
    version: VERSION,
    retryPolicy: opts.retryPolicy,
    onAttempt: metrics.attempt,
    attempt,
    ...opts.engine,
  });
  let feedback: FeedbackService | null = null;
  const app = createApi({
    store,
    get config() {
      return current;
    },
    version: VERSION,
    log,
    notifyEvents: engine.notify,
    metrics,
    attempt,
    sourceStatus: () => sources.status(),
    closing: closing.signal,
    now: Date.now,
    node: nodeName(config.storage),
    hostname: os.hostname(),
    tracking: createTrackingService({ store, config: config.tracking, listener: tracking, now: Date.now }),
    feedbackStatus: () => {
      const status = feedback?.status();
      return status && feedback?.listening ? { ...status, listen: feedback.listening } : null;
    },
  });
  // Feedback before the API server: a listener that cannot bind stops the start (and tracking).
  try {
    feedback = await startFeedback({
      store,
      config: config.feedback,
      hostname: os.hostname(),
      log,
      onStored: (types) => {
        metrics.eventsStored(types, "feedback");
        notify();
      },
    });
  } catch (err) {
    await tracking?.stop();
    await store.close();
    lock.release();
    throw err;
  }
  const feedbackService = feedback;
  if (feedbackService.listening) metrics.watchFeedback(() => feedbackService.status()?.counters ?? null);

  const listen = parseListen(config.server.listen)!;
  let server: ApiServer;
  try {
    server = serveApi(app.fetch, {
      hostname: listen.host,
      port: listen.port,
      // Bun's own cap must not cut a body before hono's bodyLimit can answer 413 with our envelope.
      maxRequestBodySize: config.server.max_body_size + 1024 * 1024,
    });
  } catch (err) {
    await milter?.stop();
    await tracking?.stop();
    await feedbackService.stop();
    await store.close();
    lock.release();
    throw new Error(`cannot listen on ${config.server.listen}: ${(err as Error).message}`);
  }
  await engine.start();
  notify = engine.notify;
  await sources.apply(config.sources);
  const retention = startRetention(store, config.storage.retention, log);
  const fleet = await startFleet({
    store,
    config,
    version: VERSION,
    log,
    now: Date.now,
    sources: () => sources.status().map((s) => ({ path: s.path, format: s.format, status: s.status, lag_bytes: s.lag_bytes })),
    wake: engine.notify,
  });
  const dnsVerifier = startDnsVerifier({
    store,
    servers: config.verification.dns_servers,
    intervalMs: config.verification.dns_interval,
    log,
    onVerified: engine.notify,
  });
  const host = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  const url = `http://${host}:${server.port}`;
  log.info("hookd started", {
    version: VERSION,
    listen: url,
    ...(tracking ? { tracking: tracking.url } : {}),
    ...(milter ? { milter: milter.address } : {}),
    store: store.location,
    node: fleet.node,
    pid: process.pid,
  });

  let stopped = false;
  return {
    url,
    feedback: feedbackService.listening ? { listening: feedbackService.listening, port: feedbackService.port } : null,
    store,
    engine,
    /** SIGHUP: new sources start, removed ones stop, delivery and event settings are swapped in. */
    async reload(next: Config) {
      if (stopped) return;
      for (const section of Object.keys(next) as (keyof Config)[]) {
        if (RELOADABLE.has(section) || JSON.stringify(next[section]) === JSON.stringify(current[section])) continue;
        log.warn("these settings change only at restart", { section });
      }
      current = { ...current, delivery: next.delivery, events: next.events, sources: next.sources };
      await sources.apply(next.sources);
      engine.notify();
      log.info("configuration reloaded", { sources: next.sources.length });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // Reverse order of start: stop reading logs (their last chunk committed), no new
      // requests, then finish the attempts in flight, then close the store they record into.
      // Requests and attempts in flight share one drain limit, delivery.timeout from here:
      // past it the API's connections are closed whatever the clients are doing.
      const drainUntil = Date.now() + current.delivery.timeout;
      await sources.stop();
      await milter?.stop();
      await tracking?.stop();
      // The feedback listener answers the messages in hand (their events committed) and closes.
      await feedbackService.stop();
      closing.abort();
      await Promise.all([
        retention.stop(),
        dnsVerifier.stop(),
        fleet.stop(),
        server.stop(Math.max(0, drainUntil - Date.now())),
        engine.stop(),
      ]);
      await store.close();
      lock.release();
      log.info("hookd stopped");
    },
  };
}
