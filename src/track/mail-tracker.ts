import { unsubscribeAddress, verpAddress } from "../mail/addresses.ts";
import { readControl, type TrackMode } from "../mail/control.ts";
import { deleteOps, messageId, parseHeaderBlock, type MailHeaderEdit } from "../mail/headers.ts";
import { listUnsubscribeEdits } from "../mail/list-unsubscribe.ts";
import { rewriteHtmlParts, type PartsLimits, type UnchangedReason } from "../mail/parts.ts";
import { currentKey, type Keyring } from "./keyring.ts";
import { messageLinks, type MessageLinks } from "./links.ts";
import { signMailToken } from "./mail-tokens.ts";
import { messageRow, tokenFields, type MessageIdentity, type TrackSettings } from "./message.ts";
import { rewriteHtml } from "./rewrite.ts";
import { messageProblem } from "./tokens.ts";

// Tracking one whole message on its way through the MTA — the milter (Postfix) and
// `hookd rewrite` (Exim) both come here; each carries the edits out its own way.
//
// 1. The control headers say whether and what to track (mail/control.ts, `[milter] track`).
// 2. Tracked: every HTML part is rewritten (links, pixel) through mail/parts.ts, which keeps
//    every other byte; List-Unsubscribe (+ -Post) is added or merged when unsubscribe is on;
//    the control headers are removed; with `[feedback] verp`, the envelope sender becomes
//    bounces+<token>@<verp domain> (not for the null sender: a bounce stays a bounce).
// 3. The message's tokens name it by queue id, Message-ID, host and — with exactly one
//    recipient — the recipient. A tracked_messages row is written when there is campaign data
//    or a VERP/unsubscribe address to name (those short tokens carry only the row's id); it is
//    written only once a part or a header needs a link, so a message that cannot be rewritten
//    leaves no row behind unless its headers were going to be tracked anyway.
// Never break mail: every problem is an "unchanged" outcome (no edit at all) with its reason.

export type MailInput = {
  /** The header block, its empty line included. */
  header: Buffer;
  body: Buffer;
  queueId: string | null;
  /** Envelope sender; "" for the null sender. */
  mailFrom: string;
  rcptTo: readonly string[];
};

export type MailTrackOptions = {
  mode: TrackMode;
  settings: TrackSettings;
  /** This MTA's name on events (the [[sources]] host of its log). */
  host: string;
  /** `[feedback] verp`: the domain of the VERP and unsubscribe addresses; "" = none. */
  verpDomain: string;
  keyring: Keyring;
  /** Stores one tracked_messages row (JSON) and gives its id; may wait for the commit. */
  storeRow(data: string): number | Promise<number>;
  now: number;
  limits: PartsLimits;
};

export type MailEdits = { headers: MailHeaderEdit[]; body?: Buffer; mailFrom?: string };

export const UNTRACKED_REASONS = ["off", "not_marked", "control_unreadable", "nothing_asked", "no_html"] as const;
export type UntrackedReason = (typeof UNTRACKED_REASONS)[number];
export type FailedReason = UnchangedReason | "store_failed" | "not_configured";

export type MailOutcome =
  /** `rewritten`: HTML parts changed; `headers_only`: List-Unsubscribe or VERP without HTML to rewrite. */
  | { outcome: "tracked"; reason: "rewritten" | "headers_only"; edits: MailEdits; links: number; pixel: boolean }
  /** Not tracked by rule; the edits (if any) only remove control headers. */
  | { outcome: "untracked"; reason: UntrackedReason; edits: MailEdits | null; detail?: string }
  /** Something went wrong: the message goes on exactly as it came. */
  | { outcome: "unchanged"; reason: FailedReason; detail: string };

export async function trackMail(mail: MailInput, o: MailTrackOptions): Promise<MailOutcome> {
  if (o.mode === "off") return { outcome: "untracked", reason: "off", edits: null };
  const fields = parseHeaderBlock(mail.header);
  const s = o.settings;
  const control = readControl(fields, o.mode, { opens: s.opens, clicks: s.clicks, unsubscribe: s.unsubscribe });
  const removeControl = deleteOps(fields, control.remove);
  const onlyRemoval = (reason: UntrackedReason, detail?: string): MailOutcome => ({
    outcome: "untracked",
    reason,
    edits: removeControl.length > 0 ? { headers: removeControl } : null,
    ...(detail ? { detail } : {}),
  });
  if (!control.track) {
    return control.problems.length > 0 ? onlyRemoval("control_unreadable", control.problems.join("; ")) : onlyRemoval("not_marked");
  }
  const aspects = control.track;
  const verp = o.verpDomain !== "" && mail.mailFrom !== "";
  if (!aspects.opens && !aspects.clicks && !aspects.unsubscribe && !verp) return onlyRemoval("nothing_asked");
  if (s.baseUrl === "") return { outcome: "unchanged", reason: "not_configured", detail: "[tracking] base_url is not set" };

  const identity = messageIdentity(mail, fields, o.host, control);
  const key = currentKey(o.keyring);
  const issuedAt = Math.floor(o.now / 1000);
  // The row, the key and the links are made once, when the first part or header asks.
  let storeFailed: Error | null = null;
  let prepared: Promise<{ ref: number | undefined; links: MessageLinks }> | null = null;
  const prepare = () =>
    (prepared ??= (async () => {
      const row = messageRow(identity, verp || (aspects.unsubscribe && o.verpDomain !== ""));
      let ref: number | undefined;
      try {
        ref = row === null ? undefined : await o.storeRow(row);
      } catch (err) {
        storeFailed = err as Error;
        throw err;
      }
      const message = { ...tokenFields(identity), ...(ref === undefined ? {} : { ref }) };
      return { ref, links: messageLinks({ baseUrl: s.baseUrl, key, issuedAt, message }) };
    })());

  let links = 0;
  let pixel = false;
  const parts =
    aspects.opens || aspects.clicks
      ? await rewriteHtmlParts(
          mail,
          async (html) => {
            const { links: l } = await prepare();
            const out = rewriteHtml(html, {
              ...(aspects.clicks ? { linkFor: (url: string) => l.clickUrl(url, true) } : {}),
              ...(aspects.opens ? { pixelUrl: l.pixelUrl } : {}),
            });
            links += out.links;
            pixel ||= out.pixel;
            return out.html;
          },
          o.limits,
        )
      : ({ changed: false, reason: "not_rewritten", detail: "opens and clicks are off for this message" } as const);
  if (storeFailed) return { outcome: "unchanged", reason: "store_failed", detail: (storeFailed as Error).message };
  if (!parts.changed) {
    if (parts.reason !== "no_html" && parts.reason !== "not_rewritten")
      return { outcome: "unchanged", reason: parts.reason, detail: parts.detail };
    // "all" tracks mail that has an HTML part; mail the application marked gets its headers
    // (List-Unsubscribe, VERP) even without one.
    const headerWork = aspects.unsubscribe || verp;
    if ((parts.reason === "no_html" && !control.marked) || !headerWork) return onlyRemoval("no_html", parts.detail);
  }

  let ready: Awaited<ReturnType<typeof prepare>>;
  try {
    ready = await prepare();
  } catch (err) {
    return { outcome: "unchanged", reason: "store_failed", detail: (err as Error).message };
  }
  const headers: MailHeaderEdit[] = [...removeControl, ...(parts.changed ? parts.headers : [])];
  if (aspects.unsubscribe) {
    const mailto =
      ready.ref !== undefined && o.verpDomain !== ""
        ? unsubscribeAddress(signMailToken("unsubscribe", ready.ref, key), o.verpDomain)
        : undefined;
    headers.push(...listUnsubscribeEdits(fields, ready.links.unsubscribeUrl, mailto ? { mailto } : {}).edits);
  }
  const edits: MailEdits = { headers };
  if (parts.changed) edits.body = parts.body;
  if (verp && ready.ref !== undefined) edits.mailFrom = verpAddress(signMailToken("bounce", ready.ref, key), o.verpDomain);
  return { outcome: "tracked", reason: parts.changed ? "rewritten" : "headers_only", edits, links, pixel };
}

/** What the tokens and the row say about the message; fields a token cannot carry are left out. */
function messageIdentity(
  mail: MailInput,
  fields: ReturnType<typeof parseHeaderBlock>,
  host: string,
  c: ReturnType<typeof readControl>,
): MessageIdentity {
  const ok = <K extends "queueId" | "messageId" | "rcpt" | "host">(k: K, v: string | null | undefined) =>
    v !== null && v !== undefined && messageProblem({ issuedAt: 0, ref: 0, [k]: v }) === null ? v : undefined;
  const id: MessageIdentity = {};
  const set = <K extends keyof MessageIdentity>(k: K, v: MessageIdentity[K] | undefined) => {
    if (v !== undefined) id[k] = v;
  };
  set("host", ok("host", host));
  set("queue_id", ok("queueId", mail.queueId));
  set("message_id", ok("messageId", messageId(fields)));
  // One recipient: links per recipient. Several share one body, so the links name the message.
  set("rcpt_to", mail.rcptTo.length === 1 ? ok("rcpt", mail.rcptTo[0]) : undefined);
  if (mail.mailFrom !== "") id.mail_from = mail.mailFrom;
  set("campaign_id", c.campaign_id);
  set("tags", c.tags);
  set("metadata", c.metadata);
  return id;
}
