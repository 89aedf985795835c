import type { Config } from "../config/schema.ts";
import type { AttemptContext } from "../deliver/attempt.ts";
import { ServiceError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import type { Store, WebhookRow } from "../store/driver.ts";

/**
 * What the webhook service needs from the rest of hookd. The REST API's deps have this
 * shape already; any other caller (SendGrid's API, a CLI command) builds one. `config` is
 * read at each call, so a reload that changes it in place is seen.
 */
export type WebhookDeps = {
  store: Store;
  config: Pick<Config, "security" | "verification" | "delivery" | "events">;
  /** How test POSTs and handshakes reach receivers (the engine's own). */
  attempt: AttemptContext;
  log: Logger;
  now: () => number;
  /** Wakes delivery after a change that may let events flow. */
  notifyEvents: () => void;
  /** `host` of the sample events a test send carries. */
  hostname: string;
};

export function webhookNotFound(id: string): ServiceError {
  return new ServiceError({ message: `no webhook with id "${id}"`, field: "id", code: "not_found" });
}

/** The webhook, or a not_found error naming the id. */
export async function requireWebhook(deps: Pick<WebhookDeps, "store">, id: string): Promise<WebhookRow> {
  const w = await deps.store.webhooks.get(id);
  if (!w) throw webhookNotFound(id);
  return w;
}
