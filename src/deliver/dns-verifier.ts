import type { Logger } from "../lib/log.ts";
import { startPeriodic, type Periodic, type Timers } from "../lib/periodic.ts";
import type { Store } from "../store/db.ts";
import { listWebhooks, updateWebhook } from "../store/webhooks.ts";
import { dnsTxtPublished } from "./verify.ts";

/** Checks pending dns_txt webhooks every `intervalMs`; a match activates the webhook. */
export function startDnsVerifier(opts: {
  store: Store;
  servers: readonly string[];
  intervalMs: number;
  log: Logger;
  onVerified: () => void;
  now?: () => number;
  timers?: Timers;
}): Periodic {
  const now = opts.now ?? Date.now;
  return startPeriodic({
    firstMs: Math.min(opts.intervalMs, 1000),
    everyMs: opts.intervalMs,
    timers: opts.timers,
    onError: (err) => opts.log.warn("dns verification check failed", { error: err instanceof Error ? err.message : String(err) }),
    async run({ signal }) {
      for (const w of listWebhooks(opts.store.db)) {
        if (signal.aborted) return;
        const token = w.verificationState?.dnsToken;
        if (w.verification !== "dns_txt" || w.verifiedAt !== null || !token) continue;
        // stop() cancels the lookup, so shutting down never waits out a DNS timeout.
        if (await dnsTxtPublished(w.target, token, opts.servers, signal)) {
          if (signal.aborted) return;
          const at = now();
          updateWebhook(opts.store.db, w.id, { verifiedAt: at, updatedAt: at });
          opts.log.info("webhook verified by DNS TXT record", { webhook_id: w.id });
          opts.onVerified();
        }
      }
    },
  });
}
