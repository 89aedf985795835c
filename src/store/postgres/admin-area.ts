import type { ApiKeyStore, DomainStore, WebhookStore } from "../driver.ts";
import type { PgContext } from "./context.ts";
import { notBuilt } from "./not-built.ts";

export function webhookStore(_ctx: PgContext): WebhookStore {
  return notBuilt("webhooks");
}

export function domainStore(_ctx: PgContext): DomainStore {
  return notBuilt("domains");
}

export function apiKeyStore(_ctx: PgContext): ApiKeyStore {
  return notBuilt("keys");
}
