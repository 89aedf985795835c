// Webhooks, domains and API keys on PostgreSQL: each area in a module of its own
// (webhooks.ts, domains.ts, keys.ts), each method one statement or one transaction.

export { domainStore } from "./domains.ts";
export { apiKeyStore } from "./keys.ts";
export { webhookStore } from "./webhooks.ts";
