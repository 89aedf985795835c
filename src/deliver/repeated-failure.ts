import type { Logger } from "../lib/log.ts";

// A failure that repeats on every tick (the store's disk full) must not write a line per
// tick: the first failure is logged at once, then at most one line per `everyMs` with how many
// were not logged, and one line when it works again (litestream's habit).

export type RepeatedFailure = {
  failed(err: unknown): void;
  succeeded(): void;
};

export function repeatedFailureLog(
  log: Logger,
  opts: { failed: string; recovered: string; everyMs: number; now: () => number },
): RepeatedFailure {
  let episode: { since: number; failures: number; loggedAt: number; skipped: number } | null = null;
  return {
    failed(err) {
      const t = opts.now();
      const error = err instanceof Error ? err.message : String(err);
      if (!episode) {
        episode = { since: t, failures: 1, loggedAt: t, skipped: 0 };
        log.error(opts.failed, { error });
        return;
      }
      episode.failures++;
      if (t - episode.loggedAt < opts.everyMs) {
        episode.skipped++;
        return;
      }
      log.error(opts.failed, { error, failures: episode.failures, not_logged: episode.skipped, failing_for_ms: t - episode.since });
      episode.loggedAt = t;
      episode.skipped = 0;
    },
    succeeded() {
      if (!episode) return;
      log.info(opts.recovered, { failures: episode.failures, failed_for_ms: opts.now() - episode.since });
      episode = null;
    },
  };
}
