import type { MailEvent } from "./emit.ts";
import type { Notice } from "./message-state.ts";
import { isQueueId } from "./parse/postfix-queue-id.ts";
import type { StoredHold } from "./snapshot.ts";

/**
 * Events of mail Postfix seems to have generated itself, held until the line that says what
 * it is a notice about.
 *
 * Postfix's bounce daemon writes "ORIG: sender non-delivery notification: NOTICE" only after
 * cleanup has queued the notice, so on a loaded machine qmgr can pick the notice up, deliver
 * it and remove it before that line is logged. Its injection and delivery would then go out
 * without `notice`. So events of a message from <> whose Message-ID is the one cleanup makes
 * from the message's own queue id are held here, per message, in order, until that line
 * names it (they get the notice), until LOG time has moved HOLD_GRACE_MS past the time it
 * entered the queue (the line is not coming: they go out as they are), or until the caller
 * flushes (end of input, a source gone idle). Relayed <> mail carries a Message-ID from
 * elsewhere and is never held.
 *
 * Held events are complete (ids included: an id does not depend on `notice`), so they are
 * part of the snapshot saved with the read position and survive a restart.
 */

/** How long (log time) after a message entered the queue its notice line may still come. */
export const HOLD_GRACE_MS = 10_000;
/** Most messages held at once; the oldest goes out without its notice when one more comes. */
export const MAX_HELD = 1000;

/**
 * Whether `mid` (without its angle brackets) is the Message-ID Postfix's cleanup adds to
 * mail that has none, as it does to every notice: "YYYYMMDDhhmmss.QID@myhostname", or
 * "QID@myhostname" with enable_long_queue_ids (cleanup_message.c, header_done callback), QID
 * being the message's own Postfix queue id. Never for Exim, whose notices are named on their
 * own arrival line ("<= <> R=") and whose ids are no Postfix queue ids.
 */
export function isOwnMessageId(mid: string | undefined, qid: string): boolean {
  if (mid === undefined || !isQueueId(qid)) return false;
  let at = 0;
  if (mid.charCodeAt(14) === 46 /* . */) {
    for (let i = 0; i < 14; i++) {
      const c = mid.charCodeAt(i);
      if (c < 48 || c > 57) return false;
    }
    at = 15;
  }
  const end = at + qid.length;
  return mid.startsWith(qid, at) && mid.charCodeAt(end) === 64 /* @ */ && mid.length > end + 1;
}

export class NoticeHold {
  /** host|scope|queue id → what is held, oldest first. */
  private readonly held = new Map<string, StoredHold>();
  /** No entry is due before the log's clock passes this (a lower bound: recomputed when passed). */
  private nextDue = Number.POSITIVE_INFINITY;

  /** `stored` comes from a snapshot: an entry that is not what this module saved is dropped. */
  constructor(stored?: unknown) {
    if (!Array.isArray(stored)) return;
    for (const entry of stored) {
      if (!Array.isArray(entry) || typeof entry[0] !== "string") continue;
      const h = entry[1] as Partial<StoredHold> | null;
      if (!h || typeof h.since !== "number" || !Array.isArray(h.events)) continue;
      const events = h.events.filter((e): e is MailEvent => typeof e === "object" && e !== null && typeof e.event_id === "string");
      if (events.length === 0) continue;
      this.held.set(entry[0], { since: h.since, events });
      this.nextDue = Math.min(this.nextDue, h.since + HOLD_GRACE_MS);
    }
  }

  get size(): number {
    return this.held.size;
  }

  has(key: string): boolean {
    return this.held.has(key);
  }

  /** Holds e for key; a new key starts its grace at `since`. The oldest over MAX_HELD goes to out. */
  add(key: string, since: number, e: MailEvent, out: MailEvent[]): void {
    const h = this.held.get(key);
    if (h) {
      h.events.push(e);
      return;
    }
    if (this.held.size >= MAX_HELD) {
      const oldest = this.held.keys().next().value;
      if (oldest !== undefined) this.release(oldest, undefined, out);
    }
    this.held.set(key, { since, events: [e] });
    this.nextDue = Math.min(this.nextDue, since + HOLD_GRACE_MS);
  }

  /**
   * Sends out, with `notice`, what is held for queue id qid of host in any of its Postfix
   * instances (a content filter may have passed the notice to another one). Whether any was.
   */
  named(host: string, qid: string, notice: Notice, out: MailEvent[]): boolean {
    const head = `${host}|`;
    const tail = `|${qid}`;
    let any = false;
    for (const key of [...this.held.keys()]) {
      if (key.startsWith(head) && key.endsWith(tail)) any = this.release(key, notice, out) || any;
    }
    return any;
  }

  /** Sends key's events to out, with `notice` when given. Whether any were held. */
  private release(key: string, notice: Notice | undefined, out: MailEvent[]): boolean {
    const h = this.held.get(key);
    if (!h) return false;
    this.held.delete(key);
    for (const e of h.events) {
      // The last key of an event (toEvent's order): adding it keeps the order an event
      // drafted with its notice has.
      if (notice) e.notice = notice;
      out.push(e);
    }
    if (this.held.size === 0) this.nextDue = Number.POSITIVE_INFINITY;
    return true;
  }

  /** Sends out, without notice, what has waited past its grace by the log's clock `latest`. */
  due(latest: number, out: MailEvent[]): void {
    if (latest <= this.nextDue) return;
    let next = Number.POSITIVE_INFINITY;
    for (const [key, h] of this.held) {
      const deadline = h.since + HOLD_GRACE_MS;
      if (latest > deadline) this.release(key, undefined, out);
      else if (deadline < next) next = deadline;
    }
    this.nextDue = next;
  }

  /** Sends out everything held, without notice. */
  all(out: MailEvent[]): void {
    for (const key of [...this.held.keys()]) this.release(key, undefined, out);
  }

  /** A copy for the snapshot: release later adds `notice` to the held events themselves. */
  snapshot(): [string, StoredHold][] {
    return [...this.held].map(([key, h]) => [key, { since: h.since, events: h.events.map((e) => ({ ...e })) }]);
  }
}
