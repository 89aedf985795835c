import type { Scope } from "../api-keys.ts";
import type { ApiKeyInfo, DomainRow, WebhookInsert, WebhookRow } from "../rows.ts";

// What operators configure through the API and the CLI: webhooks, verified domains, API keys.
// Each method is one statement or one short write transaction, durable when it resolves.

export interface WebhookStore {
  /** Newest first. */
  list(): Promise<WebhookRow[]>;
  get(id: string): Promise<WebhookRow | undefined>;
  insert(row: WebhookInsert): Promise<WebhookRow>;
  /** The columns given; undefined when there is no such webhook. */
  update(id: string, patch: Partial<WebhookInsert>): Promise<WebhookRow | undefined>;
  /** Its batches and attempts go with it. False when there was none. */
  delete(id: string): Promise<boolean>;
}

export interface DomainStore {
  /** The new row, or undefined when the domain is listed already. */
  insert(row: Pick<DomainRow, "domain" | "token" | "createdAt">): Promise<DomainRow | undefined>;
  get(domain: string): Promise<DomainRow | undefined>;
  /** By name. */
  list(): Promise<DomainRow[]>;
  /** Not verified yet, by name. */
  listPending(): Promise<DomainRow[]>;
  delete(domain: string): Promise<boolean>;
  markChecked(domain: string, at: number): Promise<void>;
  /**
   * One write transaction: marks the domain verified and every dns_txt webhook still pending on
   * it or under it (hosts.ts) verified too. Nothing (and no ids) when the domain is gone or was
   * verified already.
   */
  verify(domain: string, at: number): Promise<{ domain: DomainRow | undefined; activated: string[] }>;
  /** The verified domain that covers `host` (the most specific, if several do), if any. */
  verifiedCovering(host: string): Promise<DomainRow | undefined>;
}

export type CreatedApiKey = { key: string; info: ApiKeyInfo };

export interface ApiKeyStore {
  /** A new key; `key` is the only time it is seen (only its hash is stored). */
  create(name: string, scopes: readonly Scope[], now: number): Promise<CreatedApiKey>;
  /** One write transaction: a new key only when no active key exists (the first start); null otherwise. */
  createFirst(name: string, scopes: readonly Scope[], now: number): Promise<CreatedApiKey | null>;
  /** Oldest first, revoked ones too. */
  list(): Promise<ApiKeyInfo[]>;
  /** False when there is no such key or it was revoked already. */
  revoke(id: string, now: number): Promise<boolean>;
  /** Whether the key still exists, is not revoked and holds `scope` (a long-lived stream asks now and then). */
  allows(id: string, scope: Scope): Promise<boolean>;
  /**
   * The key's info when it is valid and not revoked. Notes when it was last used (at most once
   * a minute per key, best effort: a store refusing writes does not fail the lookup).
   */
  find(key: string, now: number): Promise<ApiKeyInfo | null>;
}
