import type { ApiKeyRow, DomainRow, WebhookRow } from "../rows.ts";
import { int8, int8OrNull } from "./values.ts";

// PostgreSQL rows (snake_case, int8 as strings) to the store's rows (../rows.ts: camelCase,
// numbers), and patches the other way. Each table's columns are listed once, in drizzle's
// order (sqlite/schema.ts), so a row reads back with the same keys in the same order as the
// SQLite driver's: the API serialises rows, and compares them.
//
// What each column is on the wire (schema.ts): "int8" comes back as a decimal
// string; "int4", "bool", "text" as they are; "json" parsed by Bun (bind the value itself).

type Kind = "text" | "int8" | "int4" | "bool" | "json";
type Column = readonly [name: string, kind: Kind];
type Columns<Row> = { readonly [K in keyof Row]-?: Column };

export const WEBHOOK_COLUMNS: Columns<WebhookRow> = {
  id: ["id", "text"],
  name: ["name", "text"],
  target: ["target", "text"],
  events: ["events", "json"],
  active: ["active", "bool"],
  authType: ["auth_type", "text"],
  authToken: ["auth_token", "text"],
  authCredentials: ["auth_credentials", "json"],
  authRequestDetails: ["auth_request_details", "json"],
  customHeaders: ["custom_headers", "json"],
  format: ["format", "text"],
  verification: ["verification", "text"],
  verificationState: ["verification_state", "json"],
  verifiedAt: ["verified_at", "int8"],
  batchMaxEvents: ["batch_max_events", "int4"],
  batchMaxBytes: ["batch_max_bytes", "int8"],
  batchMaxWait: ["batch_max_wait", "int8"],
  filter: ["filter", "json"],
  secret: ["secret", "text"],
  previousSecret: ["previous_secret", "text"],
  previousSecretUntil: ["previous_secret_until", "int8"],
  signingPrivateKey: ["signing_private_key", "text"],
  signingPublicKey: ["signing_public_key", "text"],
  ecdsaSigned: ["ecdsa_signed", "bool"],
  sendgridSettings: ["sendgrid_settings", "json"],
  sfmcSignatureKey: ["sfmc_signature_key", "text"],
  cursorSeq: ["cursor_seq", "int8"],
  lastSuccessAt: ["last_success_at", "int8"],
  lastFailureAt: ["last_failure_at", "int8"],
  lastFailureCode: ["last_failure_code", "text"],
  failingSince: ["failing_since", "int8"],
  consecutiveFailures: ["consecutive_failures", "int4"],
  createdAt: ["created_at", "int8"],
  updatedAt: ["updated_at", "int8"],
};

export const API_KEY_COLUMNS: Columns<ApiKeyRow> = {
  id: ["id", "text"],
  name: ["name", "text"],
  prefix: ["prefix", "text"],
  hash: ["hash", "text"],
  scopes: ["scopes", "json"],
  createdAt: ["created_at", "int8"],
  lastUsedAt: ["last_used_at", "int8"],
  revokedAt: ["revoked_at", "int8"],
};

export const DOMAIN_COLUMNS: Columns<DomainRow> = {
  domain: ["domain", "text"],
  token: ["token", "text"],
  verifiedAt: ["verified_at", "int8"],
  lastCheckedAt: ["last_checked_at", "int8"],
  createdAt: ["created_at", "int8"],
};

/** A row as PostgreSQL returned it, in the store's shape. Throws, naming the column, on an int8 that is not an exact number. */
export function fromPg<Row>(columns: Columns<Row>, table: string, raw: Record<string, unknown>): Row {
  const out: Record<string, unknown> = {};
  for (const [key, [name, kind]] of Object.entries(columns) as [string, Column][]) {
    const v = raw[name];
    out[key] = kind === "int8" ? int8OrNull(v, `${table}.${name}`) : (v ?? null);
  }
  return out as Row;
}

/**
 * The columns given of a row or a patch, by PostgreSQL name, for Bun's sql(object) helper.
 * Undefined values are left out (their column keeps its value or takes its default, as with
 * drizzle); keys that name no column are ignored, so only listed names ever reach the SQL.
 */
export function toPg<Row>(columns: Columns<Row>, row: Partial<Row>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(row)) {
    if (v === undefined || !Object.hasOwn(columns, key)) continue;
    out[(columns as Record<string, Column>)[key]![0]] = v;
  }
  return out;
}

/** A count or sum PostgreSQL returned (int8 or numeric: a string), as a number. */
export const count = (v: unknown, what: string): number => int8(v ?? 0, what);
