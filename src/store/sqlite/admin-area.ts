import type { ApiKeyStore, DomainStore, WebhookStore } from "../contract/admin.ts";
import type { Drizzle } from "./db.ts";
import * as domains from "./domains.ts";
import * as keys from "./keys.ts";
import * as webhooks from "./webhooks.ts";

// Webhooks, domains and API keys on SQLite, through drizzle: each method one statement or
// one transaction of domains.ts / keys.ts / webhooks.ts.

export function webhookStore(db: Drizzle): WebhookStore {
  return {
    list: async () => webhooks.listWebhooks(db),
    get: async (id) => webhooks.getWebhook(db, id),
    insert: async (row) => webhooks.insertWebhook(db, row),
    update: async (id, patch) => webhooks.updateWebhook(db, id, patch),
    delete: async (id) => webhooks.deleteWebhook(db, id),
  };
}

export function domainStore(db: Drizzle): DomainStore {
  return {
    insert: async (row) => domains.insertDomain(db, row),
    get: async (domain) => domains.getDomain(db, domain),
    list: async () => domains.listDomains(db),
    listPending: async () => domains.listPendingDomains(db),
    delete: async (domain) => domains.deleteDomain(db, domain),
    markChecked: async (domain, at) => domains.markDomainChecked(db, domain, at),
    verify: async (domain, at) => domains.verifyDomainRow(db, domain, at),
    verifiedCovering: async (host) => domains.verifiedDomainCovering(db, host),
  };
}

export function apiKeyStore(db: Drizzle): ApiKeyStore {
  return {
    create: async (name, scopes, now) => keys.createApiKey(db, name, scopes, now),
    createFirst: async (name, scopes, now) => keys.createFirstApiKey(db, name, scopes, now),
    list: async () => keys.listApiKeys(db),
    revoke: async (id, now) => keys.revokeApiKey(db, id, now),
    allows: async (id, scope) => keys.apiKeyAllows(db, id, scope),
    find: async (key, now) => keys.findApiKey(db, key, now),
  };
}
