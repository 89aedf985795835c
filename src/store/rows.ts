import type {
  AuthCredentials,
  AuthRequestDetails,
  AuthType,
  SendGridSettings,
  Verification,
  WebhookFilter,
  WebhookFormat,
} from "../webhooks/model.ts";

// The rows the store hands out and takes in, as plain types: what every driver returns,
// whatever builds its queries. The SQLite driver's drizzle tables (sqlite/schema.ts) are
// checked against these at compile time, so a column added there and not here fails tsc.

export type { AuthCredentials, AuthRequestDetails, SendGridSettings, WebhookFilter } from "../webhooks/model.ts";

export type ApiKeyRow = {
  id: string;
  name: string;
  prefix: string;
  /** sha256 of the key, hex; the key itself is never stored. */
  hash: string;
  scopes: string[];
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
};

/** An API key as it may be shown: everything but its hash. */
export type ApiKeyInfo = Omit<ApiKeyRow, "hash">;

export type WebhookRow = {
  id: string;
  name: string;
  target: string;
  events: string[];
  active: boolean;
  authType: AuthType;
  authToken: string | null;
  authCredentials: AuthCredentials | null;
  authRequestDetails: AuthRequestDetails | null;
  customHeaders: Record<string, string> | null;
  format: WebhookFormat;
  verification: Verification;
  verificationState: Record<string, string> | null;
  verifiedAt: number | null;
  batchMaxEvents: number | null;
  batchMaxBytes: number | null;
  batchMaxWait: number | null;
  filter: WebhookFilter | null;
  secret: string;
  previousSecret: string | null;
  previousSecretUntil: number | null;
  signingPrivateKey: string | null;
  signingPublicKey: string | null;
  /** `sendgrid` format: whether SendGrid's ECDSA signature headers are sent. */
  ecdsaSigned: boolean;
  sendgridSettings: SendGridSettings | null;
  /** `sfmc` format: the key of x-sfmc-ens-signature (base64 of 32 random bytes), shown once at create. */
  sfmcSignatureKey: string | null;
  /** The seq of the last event this webhook is done with: its queue is every event after it. */
  cursorSeq: number;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  lastFailureCode: string | null;
  failingSince: number | null;
  consecutiveFailures: number;
  createdAt: number;
  /** Moved by every change made through the API or a verification; the engine's pass compares it. */
  updatedAt: number;
};

/** The columns a new webhook must have; the rest take their defaults. */
type WebhookRequired = "id" | "name" | "target" | "events" | "secret" | "createdAt" | "updatedAt";

/** A new webhook (required columns, any others), or a patch of one (any columns). */
export type WebhookInsert = Pick<WebhookRow, WebhookRequired> & Partial<Omit<WebhookRow, WebhookRequired>>;

export type DomainRow = {
  domain: string;
  /** The TXT record's value is hookd-verification=<token>. */
  token: string;
  verifiedAt: number | null;
  lastCheckedAt: number | null;
  createdAt: number;
};
