import { Metrics } from "./lib/metrics.ts";
import type { Outcome, Store } from "./store/driver.ts";

// hookd's metric names in one place; the parts that produce them get small callbacks.

export type HookdMetrics = ReturnType<typeof createHookdMetrics>;

/** What the feedback listener counts: feedback/stats.ts's FeedbackCounters by shape (this module sits below feedback/). */
export type FeedbackCounts = {
  byKind: Record<string, number>;
  matched: Record<string, number>;
  ownDsns: number;
  rejectedTokens: number;
  commitFailures: number;
  tooLarge: number;
};

export function createHookdMetrics(store: Store, now: () => number = Date.now) {
  const m = new Metrics();
  const events = m.counter("hookd_events_total", "Events stored, by type and origin (api or a log source).");
  const batches = m.counter(
    "hookd_batches_total",
    "Batch attempts by outcome: delivered, retry (failed, will retry) or dead (dead-lettered).",
  );
  const latency = m.histogram(
    "hookd_attempt_duration_seconds",
    "Duration of one delivery attempt.",
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  const lines = m.counter("hookd_source_lines_total", "Log lines read, by source.");
  const unknown = m.counter("hookd_source_lines_not_understood_total", "Log lines read but not understood, by source.");
  const depth = m.gauge("hookd_queue_depth", "Events waiting for a webhook.");
  const oldest = m.gauge("hookd_oldest_pending_age_seconds", "Age of the oldest event waiting for a webhook (0 when none).");
  const storeBytes = m.gauge("hookd_store_bytes", "Size of the store: the SQLite file with its WAL, or the PostgreSQL database.");
  // Every node of a fleet serves its own /metrics: this says which node (and driver) a scrape came from.
  const nodeInfo = m.gauge("hookd_node_info", "This node: its name (storage.node or the hostname) and the store's driver; always 1.");

  const storeUp = m.gauge(
    "hookd_store_up",
    "1 when the store answered this scrape's reads, 0 when it could not (the queue figures are then the last ones read).",
  );

  m.collect(async () => {
    let hooks: Awaited<ReturnType<Store["webhooks"]["list"]>>;
    let queues: Awaited<ReturnType<Store["views"]["queues"]>>;
    let size: number;
    try {
      hooks = await store.webhooks.list();
      queues = await store.views.queues(hooks);
      size = await store.meta.sizeBytes();
    } catch {
      // A fleet's database down: the counters this process keeps are still worth a scrape.
      storeUp.set({}, 0);
      return;
    }
    storeUp.set({}, 1);
    // Cleared only once every figure is in: a scrape never sees them half filled.
    depth.clear();
    oldest.clear();
    hooks.forEach((w, i) => {
      const q = queues[i]!;
      depth.set({ webhook: w.id }, q.depth);
      oldest.set({ webhook: w.id }, q.oldestPendingAt === null ? 0 : Math.max(0, (now() - q.oldestPendingAt) / 1000));
    });
    storeBytes.set({}, size);
  });

  const tracking = trackingMetrics(m);
  const milter = milterMetrics(m);

  const eventsCounted = (byType: Record<string, number>, origin: string) => {
    for (const [type, n] of Object.entries(byType)) events.inc({ type, origin }, n);
  };

  return {
    registry: m,
    node(name: string) {
      nodeInfo.clear();
      nodeInfo.set({ node: name, driver: store.kind }, 1);
    },
    eventsStored(types: readonly string[], origin: string) {
      const byType: Record<string, number> = {};
      for (const t of types) byType[t] = (byType[t] ?? 0) + 1;
      eventsCounted(byType, origin);
    },
    eventsCounted,
    attempt(a: { webhookId: string; outcome: Outcome["kind"]; latencyMs: number }) {
      batches.inc({ webhook: a.webhookId, outcome: a.outcome === "retry" ? "retry" : a.outcome });
      latency.observe({ webhook: a.webhookId }, a.latencyMs / 1000);
    },
    linesRead(source: string, n: number, notUnderstood: number) {
      lines.inc({ source }, n);
      if (notUnderstood) unknown.inc({ source }, notUnderstood);
    },
    /** The feedback listener's counts, read at each scrape (its events are in hookd_events_total{origin="feedback"}). */
    watchFeedback(read: () => FeedbackCounts | null) {
      const messages = m.counter(
        "hookd_feedback_messages_total",
        "Messages the feedback listener accepted, by kind: dsn, complaint, unsubscribe, plain_bounce, not_a_report (no parser read it).",
      );
      const matched = m.counter(
        "hookd_feedback_matched_total",
        "Reports by how they were tied to their original message: verp, unsubscribe_token, message_id, queue_id, or none.",
      );
      const own = m.counter(
        "hookd_feedback_own_dsns_total",
        "DSNs from our own MTAs (local_mtas): counted, no event (the MTA log gave the bounce).",
      );
      const rejected = m.counter("hookd_feedback_rejected_tokens_total", "Reports whose VERP or unsubscribe token did not verify.");
      const failures = m.counter(
        "hookd_feedback_commit_failures_total",
        "Messages answered 451 because their events could not be stored (the MTA retries).",
      );
      const tooLarge = m.counter("hookd_feedback_too_large_total", "Messages answered 552: larger than feedback.max_size.");
      // The listener keeps running totals; the registry's counters only go up, by the difference.
      const seen = new Map<string, number>();
      const add = (
        c: { inc(labels: Record<string, string>, by: number): void },
        id: string,
        labels: Record<string, string>,
        total: number,
      ) => {
        c.inc(labels, Math.max(0, total - (seen.get(id) ?? 0)));
        seen.set(id, total);
      };
      m.collect(() => {
        const f = read();
        if (!f) return;
        for (const [kind, n] of Object.entries(f.byKind)) add(messages, `k:${kind}`, { kind }, n);
        for (const [via, n] of Object.entries(f.matched)) add(matched, `m:${via}`, { via }, n);
        add(own, "own", {}, f.ownDsns);
        add(rejected, "rejected", {}, f.rejectedTokens);
        add(failures, "failures", {}, f.commitFailures);
        add(tooLarge, "tooLarge", {}, f.tooLarge);
      });
    },
    trackingCounts: tracking.counts,
    trackingListener: tracking.listener,
    milterCounts: milter.counts,
    milterListener: milter.listener,
  };
}

/** What the tracking worker reports each second (track/worker-protocol.ts's TrackCounts). */
export type TrackingCountsDelta = {
  hits: { open: number; click: number; unsubscribe: number };
  machine: { open: number; click: number };
  notFound: number;
  rateLimited: number;
  recorded: number;
  queueFull: number;
  commitFailed: number;
  answeredBeforeCommit: number;
  commitSeconds: number[];
};

// The tracking listener's figures. Its events are also in hookd_events_total{origin="tracking"}.
function trackingMetrics(m: Metrics) {
  const hits = m.counter(
    "hookd_tracking_hits_total",
    "Hits the tracking listener answered, by kind (open, click, unsubscribe) and machine (true: a prefetch, proxy or scanner).",
  );
  const recorded = m.counter("hookd_tracking_hits_recorded_total", "Hits committed to the store.");
  const dropped = m.counter(
    "hookd_tracking_hits_dropped_total",
    "Hits not recorded, by reason: queue_full (the store fell behind) or commit_failed.",
  );
  const early = m.counter(
    "hookd_tracking_answered_before_commit_total",
    "Pixels and redirects answered before their commit finished (it finished later, or the hit was dropped).",
  );
  const notFound = m.counter("hookd_tracking_not_found_total", "Requests answered 404: other paths, tokens that do not verify.");
  const limited = m.counter("hookd_tracking_rate_limited_total", "Requests answered 429 (tracking.rate_limit).");
  const commit = m.histogram(
    "hookd_tracking_commit_duration_seconds",
    "Duration of one commit of a batch of hits.",
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  );
  const up = m.gauge("hookd_tracking_listener_up", "1 while the tracking listener serves, else 0; absent when tracking.listen is off.");
  let isUp: (() => boolean) | null = null;
  m.collect(() => {
    if (isUp) up.set({}, isUp() ? 1 : 0);
  });
  return {
    counts(d: TrackingCountsDelta) {
      for (const kind of ["open", "click"] as const) {
        hits.inc({ kind, machine: "false" }, d.hits[kind] - d.machine[kind]);
        hits.inc({ kind, machine: "true" }, d.machine[kind]);
      }
      hits.inc({ kind: "unsubscribe", machine: "false" }, d.hits.unsubscribe);
      recorded.inc({}, d.recorded);
      dropped.inc({ reason: "queue_full" }, d.queueFull);
      dropped.inc({ reason: "commit_failed" }, d.commitFailed);
      early.inc({}, d.answeredBeforeCommit);
      notFound.inc({}, d.notFound);
      limited.inc({}, d.rateLimited);
      for (const s of d.commitSeconds) commit.observe({}, s);
    },
    /** Called once the listener is configured: `fn` says whether it serves now. */
    listener(fn: () => boolean) {
      isUp = fn;
    },
  };
}

/** What the milter's thread reports each second (track/milter-protocol.ts's MilterCounts). */
export type MilterCountsDelta = { messages: Record<string, number>; seconds: number[] };

// The milter's figures: every message Postfix showed it, once, by what became of it.
function milterMetrics(m: Metrics) {
  const messages = m.counter(
    "hookd_milter_messages_total",
    "Messages the milter saw, by outcome (tracked; untracked: left alone by rule; unchanged: passed as they came because something went wrong) and reason.",
  );
  const duration = m.histogram(
    "hookd_milter_message_duration_seconds",
    "Time the milter spent on one message (MIME, rewrite, signing, its row's commit).",
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
  );
  const up = m.gauge("hookd_milter_up", "1 while the milter listener serves, else 0; absent when milter.listen is off.");
  let isUp: (() => boolean) | null = null;
  m.collect(() => {
    if (isUp) up.set({}, isUp() ? 1 : 0);
  });
  return {
    counts(d: MilterCountsDelta) {
      for (const [key, n] of Object.entries(d.messages)) {
        const [outcome, reason] = key.split("/");
        messages.inc({ outcome: outcome!, reason: reason ?? "" }, n);
      }
      for (const s of d.seconds) duration.observe({}, s);
    },
    /** Called once the milter is configured: `fn` says whether it serves now. */
    listener(fn: () => boolean) {
      isUp = fn;
    },
  };
}
