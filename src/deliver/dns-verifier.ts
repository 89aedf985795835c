import type { Logger } from "../lib/log.ts";
import { startPeriodic, type Periodic, type Timers } from "../lib/periodic.ts";
import type { Store } from "../store/driver.ts";
import { dnsTxtPublished, domainTxtPublished } from "./verify.ts";

/**
 * Every `intervalMs`: pending domains first (a match verifies the domain and activates the
 * dns_txt webhooks on it), then pending dns_txt webhooks by their own token.
 */
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
  const store = opts.store;
  return startPeriodic({
    firstMs: Math.min(opts.intervalMs, 1000),
    everyMs: opts.intervalMs,
    timers: opts.timers,
    onError: (err) => opts.log.warn("dns verification check failed", { error: err instanceof Error ? err.message : String(err) }),
    async run({ signal }) {
      for (const d of await store.domains.listPending()) {
        if (signal.aborted) return;
        // stop() cancels the lookup, so shutting down never waits out a DNS timeout.
        const check = await domainTxtPublished(d.domain, d.token, opts.servers, signal);
        if (signal.aborted) return;
        const at = now();
        if (!check.published) {
          await store.domains.markChecked(d.domain, at);
          continue;
        }
        const { domain, activated } = await store.domains.verify(d.domain, at);
        if (!domain) continue; // deleted, or verified by the API meanwhile
        opts.log.info("domain verified by DNS TXT record", { domain: d.domain, webhooks_activated: activated });
        opts.onVerified();
      }
      for (const w of await store.webhooks.list()) {
        if (signal.aborted) return;
        const token = w.verificationState?.dnsToken;
        if (w.verification !== "dns_txt" || w.verifiedAt !== null || !token) continue;
        if (await dnsTxtPublished(w.target, token, opts.servers, signal)) {
          if (signal.aborted) return;
          const at = now();
          await store.webhooks.update(w.id, { verifiedAt: at, updatedAt: at });
          opts.log.info("webhook verified by DNS TXT record", { webhook_id: w.id });
          opts.onVerified();
        }
      }
    },
  });
}
