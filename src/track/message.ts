import { ServiceError } from "../lib/errors.ts";
import type { Store } from "../store/driver.ts";
import type { CampaignRow } from "./events.ts";
import { currentKey, type Keyring } from "./keyring.ts";
import { messageLinks, type MessageLinks, type MessageRef } from "./links.ts";
import { rewriteHtml, unsubscribeHeaders, type UnsubscribeHeaders } from "./rewrite.ts";
import { TokenPayloadError } from "./tokens.ts";

// Tracking one message: what POST /tracking/rewrite does (the mail path, mail-tracker.ts, uses
// the same row and fields). Campaign data is stored once, in one tracked_messages row whose id
// every token of the message carries (`ref`): links stay short, and recording a hit reads that
// one row. The message's own fields (recipient, Message-ID, queue id) go into the tokens.

export type TrackSettings = {
  baseUrl: string;
  opens: boolean;
  clicks: boolean;
  unsubscribe: boolean;
};

export type MessageToTrack = {
  html: string;
  rcpt_to?: string;
  message_id?: string;
  queue_id?: string;
  host?: string;
  campaign_id?: string;
  tags?: string[];
  metadata?: CampaignRow["metadata"];
  /** The message's own List-Unsubscribe value: its mailto: URIs are kept after hookd's. */
  list_unsubscribe?: string;
};

export type TrackedMessage = {
  html: string;
  /** List-Unsubscribe (and List-Unsubscribe-Post for https) when unsubscribe is on; else none. */
  headers: Partial<UnsubscribeHeaders>;
  links: number;
  pixel: boolean;
};

const FIELD_OF: Record<string, string> = { rcpt: "rcpt_to", messageId: "message_id", queueId: "queue_id", host: "host" };

/** What names one tracked message: the fields its tokens may carry, and its campaign data. */
export type MessageIdentity = Omit<MessageToTrack, "html" | "list_unsubscribe"> & { mail_from?: string };

/** The message's token fields (those given). */
export function tokenFields(m: MessageIdentity): MessageRef {
  const fields = { rcpt: m.rcpt_to, messageId: m.message_id, queueId: m.queue_id, host: m.host };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

/** The message's campaign data (those given). */
export function campaignOf(m: MessageIdentity): CampaignRow {
  const campaign: CampaignRow = {};
  if (m.campaign_id !== undefined) campaign.campaign_id = m.campaign_id;
  if (m.tags !== undefined) campaign.tags = m.tags;
  if (m.metadata !== undefined) campaign.metadata = m.metadata;
  return campaign;
}

/**
 * The tracked_messages row (JSON) the message needs, or null: one when there is campaign data,
 * when nothing else names the message, or when the caller needs a ref of its own (`always`:
 * the mail path's VERP and unsubscribe addresses name only the row). A row written for the
 * mail path also holds the message's own fields, which those short tokens leave out.
 */
export function messageRow(m: MessageIdentity, always = false): string | null {
  const campaign = campaignOf(m);
  const needed = always || Object.keys(campaign).length > 0 || (m.message_id === undefined && m.queue_id === undefined);
  if (!needed) return null;
  if (!always) return JSON.stringify(campaign);
  const own: CampaignRow = {};
  if (m.host !== undefined) own.host = m.host;
  if (m.queue_id !== undefined) own.queue_id = m.queue_id;
  if (m.message_id !== undefined) own.message_id = m.message_id;
  if (m.rcpt_to !== undefined) own.rcpt_to = m.rcpt_to;
  if (m.mail_from !== undefined) own.mail_from = m.mail_from;
  return JSON.stringify({ ...campaign, ...own });
}

export async function trackMessage(
  store: Store,
  m: MessageToTrack,
  opts: { settings: TrackSettings; keyring: Keyring; now: number },
): Promise<TrackedMessage> {
  const { settings } = opts;
  const issuedAt = Math.floor(opts.now / 1000);
  const message = tokenFields(m);
  let links: MessageLinks;
  try {
    // Checked before anything is stored: a field a token cannot carry is the caller's mistake.
    messageLinks({ baseUrl: settings.baseUrl, key: currentKey(opts.keyring), issuedAt, message: { ...message, ref: 0 } });
    const row = messageRow(m);
    const ref = row === null ? undefined : (await store.tracking.insertMessages([row], opts.now))[0];
    links = messageLinks({
      baseUrl: settings.baseUrl,
      key: currentKey(opts.keyring),
      issuedAt,
      message: { ...message, ...(ref === undefined ? {} : { ref }) },
    });
  } catch (err) {
    if (!(err instanceof TokenPayloadError)) throw err;
    const name = /^tracking token: (\w+):/.exec(err.message)?.[1] ?? "";
    const field = FIELD_OF[name];
    throw new ServiceError({
      message: err.message.replace(/^tracking token: \w+: /, ""),
      code: "invalid_value",
      ...(field ? { field } : {}),
    });
  }
  const out = rewriteHtml(m.html, {
    // rewriteHtml hands over hrefs as the URL standard serialises them.
    ...(settings.clicks ? { linkFor: (url: string) => links.clickUrl(url, true) } : {}),
    ...(settings.opens ? { pixelUrl: links.pixelUrl } : {}),
  });
  return {
    html: out.html,
    headers: settings.unsubscribe ? unsubscribeHeaders(links.unsubscribeUrl, m.list_unsubscribe) : {},
    links: out.links,
    pixel: out.pixel,
  };
}
