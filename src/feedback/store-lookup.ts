import type { MessageRef, Store } from "../store/driver.ts";
import type { FeedbackLookup, MaybePromise, OriginalMessage } from "./match.ts";

// FeedbackLookup over the store: stored events → the original message, one entry per
// recipient, newest first. The tokens are verified by an injected TokenVerifier: VERP and
// unsubscribe-address tokens come with the milter (not built yet), and the tracking keyring
// they will be signed with is being moved into the store; until both land, noTokens says no.

/**
 * Verifies the token of a VERP address (bounces+<token>@<verp>) or of the List-Unsubscribe
 * mailto address (unsubscribe+<token>@<verp>): the message and recipient it was issued for, or
 * null when it does not verify. Tokens arrive as the MTA delivered them: a verifier whose
 * alphabet is case-insensitive (as it should be, README "Feedback") folds case itself.
 */
export interface TokenVerifier {
  verifyVerpToken(token: string): MaybePromise<OriginalMessage | null>;
  verifyUnsubscribeToken(token: string): MaybePromise<OriginalMessage | null>;
}

/** No tokens are issued yet: every one is refused (and counted as such). */
export const noTokens: TokenVerifier = {
  verifyVerpToken: () => null,
  verifyUnsubscribeToken: () => null,
};

export function storeLookup(store: Store, tokens: TokenVerifier = noTokens): FeedbackLookup {
  return {
    verifyVerpToken: (token) => tokens.verifyVerpToken(token),
    verifyUnsubscribeToken: (token) => tokens.verifyUnsubscribeToken(token),
    // Several events name each recipient (injection, delivery, delays): ask for more rows than
    // recipients wanted, then keep one per recipient.
    findByMessageId: async (messageId, limit) => originals(await store.feedback.findByMessageId(messageId, limit * 4), limit),
    findByQueueId: async (queueId, host, limit) => {
      const found = originals(await store.feedback.findByQueueId(queueId, limit * 4), limit);
      // A queue id is unique per MTA only: when the report names the MTA and one of our hosts
      // is labelled so, its message comes first.
      const wanted = host?.toLowerCase();
      return wanted
        ? [...found.filter((o) => o.host?.toLowerCase() === wanted), ...found.filter((o) => o.host?.toLowerCase() !== wanted)]
        : found;
    },
  };
}

/**
 * One OriginalMessage per (host, queue id, Message-ID, recipient), newest first, its empty
 * fields filled from the older events of the same recipient; an entry without a recipient is
 * dropped when its message has entries with one.
 */
export function originals(refs: readonly MessageRef[], limit: number): OriginalMessage[] {
  const byKey = new Map<string, OriginalMessage>();
  for (const r of refs) {
    const key = `${r.host}\x1f${r.queue_id ?? ""}\x1f${r.message_id ?? ""}\x1f${r.rcpt_to ?? ""}`;
    const o = byKey.get(key) ?? {};
    fill(o, r);
    if (!byKey.has(key)) byKey.set(key, o);
  }
  const all = [...byKey.values()];
  const withRcpt = new Set(
    all.filter((o) => o.rcpt_to !== undefined).map((o) => `${o.host}\x1f${o.queue_id ?? ""}\x1f${o.message_id ?? ""}`),
  );
  return all
    .filter((o) => o.rcpt_to !== undefined || !withRcpt.has(`${o.host}\x1f${o.queue_id ?? ""}\x1f${o.message_id ?? ""}`))
    .slice(0, limit);
}

function fill(o: OriginalMessage, r: MessageRef): void {
  o.host ??= r.host;
  if (r.queue_id !== null) o.queue_id ??= r.queue_id;
  if (r.message_id !== null) o.message_id ??= r.message_id;
  if (r.rcpt_to !== null) o.rcpt_to ??= r.rcpt_to;
  if (r.mail_from !== null) o.mail_from ??= r.mail_from;
  if (typeof r.campaign_id === "string") o.campaign_id ??= r.campaign_id;
  const tags = json(r.tags);
  if (Array.isArray(tags) && tags.every((t) => typeof t === "string")) o.tags ??= tags;
  const metadata = json(r.metadata);
  if (metadata !== null && typeof metadata === "object" && !Array.isArray(metadata)) o.metadata ??= metadata as OriginalMessage["metadata"];
}

// Bodies were validated when stored; a value that does not parse is left out, never fatal.
function json(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
