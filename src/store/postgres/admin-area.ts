import type { DomainStore } from "../driver.ts";
import type { PgContext } from "./context.ts";
import { notBuilt } from "./not-built.ts";

// Webhooks, domains and API keys on PostgreSQL: each area in a module of its own
// (webhooks.ts, domains.ts, keys.ts), each method one statement or one transaction.

export { apiKeyStore } from "./keys.ts";
export { webhookStore } from "./webhooks.ts";

export function domainStore(_ctx: PgContext): DomainStore {
  return notBuilt("domains");
}
