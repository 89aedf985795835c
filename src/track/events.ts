import type { EventInput } from "../events/schema.ts";
import type { HitRow } from "../store/driver.ts";
import type { MachineVerdict } from "./machine.ts";
import type { TokenKind, TokenPayload } from "./tokens.ts";

// A verified hit on the tracking listener → the hookd event that receivers get.
//
// event_id is deterministic, so the store's ON CONFLICT(event_id) DO NOTHING keeps one copy:
// - list_unsubscribe: from the token alone. A provider that POSTs the one-click twice, or a
//   reader who presses the button again, makes the same event — stored once.
// - open, click: every fetch is an event (a reader opening a mail three times opened it three
//   times), except the same token fetched again from the same IP and User-Agent within the
//   same wall-clock second with the same machine verdict: clients that load an image twice
//   while rendering make one event, while a prefetch or HEAD followed by the reader's own GET
//   stays two (the machine one must not hide the person's).
//
// `first` (the first event of its type for this message and recipient, machine or not) is
// decided where the events are committed: the store's commit (TrackingStore.commitHits)
// claims each hit's firstKey inside the transaction that inserts the event and sets `first`.
// Decided any earlier, two hits in one batch would both be first.

export type Hit = {
  /** The token as received; the event id derives from it. */
  token: string;
  payload: TokenPayload;
  /** When the request arrived, unix milliseconds. */
  at: number;
  ip?: string;
  userAgent?: string;
  verdict: MachineVerdict;
};

/** The message's campaign data stored once at rewrite time (the row `payload.ref` names). */
export type CampaignRow = {
  campaign_id?: string;
  tags?: string[];
  metadata?: Record<string, string | number | boolean | null>;
  /** Message fields the token may leave out to stay short. */
  host?: string;
  queue_id?: string;
  message_id?: string;
  rcpt_to?: string;
  /** The envelope sender, for feedback about the message (rows the mail path writes). */
  mail_from?: string;
};

export type EngagementEvent = Extract<EventInput, { type: "open" | "click" | "list_unsubscribe" }> & {
  event_id: string;
  timestamp: string;
  host: string;
};

export const EVENT_TYPE_OF: Record<TokenKind, EngagementEvent["type"]> = { open: "open", click: "click", unsubscribe: "list_unsubscribe" };

export function engagementEventId(hit: Hit): string {
  const type = EVENT_TYPE_OF[hit.payload.kind];
  if (hit.payload.kind === "unsubscribe") return timePart(hit.payload.issuedAt * 1000) + hashPart(`${type}\x1f${hit.token}`);
  const second = Math.floor(hit.at / 1000);
  const verdict = hit.verdict.machine ? (hit.verdict.reason ?? "machine") : "";
  return (
    timePart(second * 1000) + hashPart(`${type}\x1f${hit.token}\x1f${hit.ip ?? ""}\x1f${hit.userAgent ?? ""}\x1f${second}\x1f${verdict}`)
  );
}

/** The key `claimFirst` is asked about: event type, message and recipient, hashed to 22 characters. */
export function firstKey(hit: Hit): string {
  const p = hit.payload;
  const id = [EVENT_TYPE_OF[p.kind], p.host, p.queueId, p.messageId, p.ref, p.rcpt].map((v) => v ?? "").join("\x1f");
  return Buffer.from(Bun.SHA256.hash(id) as Uint8Array)
    .subarray(0, 16)
    .toString("base64url");
}

export function engagementEvent(hit: Hit, ctx: { first: boolean; campaign?: CampaignRow; host: string }): EngagementEvent {
  const p = hit.payload;
  const row = ctx.campaign ?? {};
  // Key order as normalizeEvent's (id, type, timestamp, host first): the JSON stored is the
  // JSON receivers get.
  return {
    event_id: engagementEventId(hit),
    type: EVENT_TYPE_OF[p.kind],
    timestamp: new Date(hit.at).toISOString(),
    host: p.host ?? row.host ?? ctx.host,
    ...defined({
      queue_id: p.queueId ?? row.queue_id,
      message_id: p.messageId ?? row.message_id,
      rcpt_to: p.rcpt ?? row.rcpt_to,
      campaign_id: row.campaign_id,
      tags: row.tags,
      metadata: row.metadata,
      url: p.url,
      user_agent: hit.userAgent?.slice(0, 1024),
      ip: hit.ip?.slice(0, 64),
    }),
    first: ctx.first,
    machine: hit.verdict.machine,
    ...(hit.verdict.machine && hit.verdict.reason ? { machine_reason: hit.verdict.reason } : {}),
  } as EngagementEvent; // a click always has its url: verified tokens are checked for it
}

/** One batch of hits → the rows the store commits, in order (`first` is the store's to set). */
export function hitRows(hits: readonly Hit[], ctx: { campaign(ref: number): CampaignRow | undefined; host: string }): HitRow[] {
  return hits.map((hit) => {
    const ref = hit.payload.ref;
    const campaign = ref === undefined ? undefined : ctx.campaign(ref);
    const event = engagementEvent(hit, { first: false, host: ctx.host, ...(campaign ? { campaign } : {}) });
    return { event, firstKey: firstKey(hit), minute: Math.floor(hit.at / 60_000) };
  });
}

function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const k in o) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

// Ids shaped like the ingest's (ingest/event-id.ts): 10 base32 characters of milliseconds, so
// ids arrive in nearly ascending order and the event_id index grows at its right edge, then
// 80 bits of SHA-256 of what makes the event the same event.
const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";

function timePart(ms: number): string {
  let out = "";
  for (let i = 9; i >= 0; i--) out += CROCKFORD[Math.floor(ms / 32 ** i) % 32];
  return out;
}

function hashPart(identity: string): string {
  const d = Bun.SHA256.hash(identity) as Uint8Array;
  let out = "";
  let bits = 0;
  let acc = 0;
  for (let i = 0; i < 10; i++) {
    acc = (acc << 8) | d[i]!;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CROCKFORD[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}
