// What a webhook is, below every layer that stores, sends or serves one: the enums the
// store's typed columns, the API's schemas and the delivery code all take from here, and
// the one rule for its status. Imports nothing of hookd's, so the store can depend on it.

export const WEBHOOK_FORMATS = ["hookd", "sendgrid", "sparkpost", "sfmc", "copernica"] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

export const AUTH_TYPES = ["none", "token", "basic", "oauth2"] as const;
export type AuthType = (typeof AUTH_TYPES)[number];

export const VERIFICATIONS = ["test_post", "handshake", "dns_txt", "none"] as const;
export type Verification = (typeof VERIFICATIONS)[number];

export const WEBHOOK_STATUSES = ["active", "pending_verification", "inactive", "failing"] as const;
export type WebhookStatus = (typeof WEBHOOK_STATUSES)[number];

export type AuthCredentials = { username: string; password: string };
export type AuthRequestDetails = { url: string; body: { client_id: string; client_secret: string } };
/**
 * SendGrid's Event Webhook settings that name no hookd event type. They subscribe to
 * nothing here; they are kept so that SendGrid's API reads them back as they were sent.
 */
export const SENDGRID_UNMAPPED_SETTINGS = ["group_unsubscribe", "group_resubscribe", "account_status_change"] as const;
export type SendGridSettings = Partial<Record<(typeof SENDGRID_UNMAPPED_SETTINGS)[number], boolean>>;
export type WebhookFilter = {
  sender_domains?: string[];
  rcpt_domains?: string[];
  hosts?: string[];
  /** false: leave out engagement events marked machine: true. */
  machine?: boolean;
  /** false: leave out mail the MTA generated about another message (bounce, delay, success notices). */
  notices?: boolean;
};

// One failed attempt is a blip; a streak means the receiver is down or rejecting us.
export const FAILING_AFTER_ATTEMPTS = 3;

type StatusFields = { active: boolean; verification: Verification; verifiedAt: number | null; consecutiveFailures: number };

/** Whether the target has proved it wants the events (or needs no proof). */
export function isVerified(w: Pick<StatusFields, "verification" | "verifiedAt">): boolean {
  return w.verification === "test_post" || w.verification === "none" || w.verifiedAt !== null;
}

/** Delivery sends to a webhook only when it is active and verified. */
export function webhookCanSend(w: Pick<StatusFields, "active" | "verification" | "verifiedAt">): boolean {
  return w.active && isVerified(w);
}

export function webhookStatus(w: StatusFields): WebhookStatus {
  if (!isVerified(w)) return "pending_verification";
  if (!w.active) return "inactive";
  if (w.consecutiveFailures >= FAILING_AFTER_ATTEMPTS) return "failing";
  return "active";
}
