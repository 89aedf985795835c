import type { Logger } from "../lib/log.ts";
import type { Store } from "../store/db.ts";
import { listWebhooks, updateWebhook } from "../store/webhooks.ts";
import { dnsTxtPublished } from "./verify.ts";

/** Checks pending dns_txt webhooks every `intervalMs`; a match activates the webhook. */
export function startDnsVerifier(opts: { store: Store; servers: readonly string[]; intervalMs: number; log: Logger; onVerified: () => void }) {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const checkAll = async () => {
    for (const w of listWebhooks(opts.store.db)) {
      if (stopped) return;
      const token = w.verificationState?.dnsToken;
      if (w.verification !== "dns_txt" || w.verifiedAt !== null || !token) continue;
      if (await dnsTxtPublished(w.target, token, opts.servers)) {
        if (stopped) return;
        updateWebhook(opts.store.db, w.id, { verifiedAt: Date.now(), updatedAt: Date.now() });
        opts.log.info("webhook verified by DNS TXT record", { webhook_id: w.id });
        opts.onVerified();
      }
    }
  };
  const run = async () => {
    try {
      await checkAll();
    } catch (err) {
      opts.log.warn("dns verification check failed", { error: err instanceof Error ? err.message : String(err) });
    }
    if (!stopped) timer = setTimeout(run, opts.intervalMs);
  };
  timer = setTimeout(run, Math.min(opts.intervalMs, 1000));
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
