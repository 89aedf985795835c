import type { ApiKeyStore, DomainStore } from "../driver.ts";
import type { PgContext } from "./context.ts";
import { notBuilt } from "./not-built.ts";

// Webhooks, domains and API keys on PostgreSQL: each area in a module of its own
// (webhooks.ts, domains.ts, keys.ts), each method one statement or one transaction.

export { webhookStore } from "./webhooks.ts";

export function domainStore(_ctx: PgContext): DomainStore {
  return notBuilt("domains");
}

export function apiKeyStore(_ctx: PgContext): ApiKeyStore {
  return notBuilt("keys");
}
