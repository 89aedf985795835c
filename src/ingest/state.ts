import type { MessageState, Notice } from "./message-state.ts";
import { load, type Snapshot, store } from "./snapshot.ts";

/**
 * Correlation state: what earlier lines said about each queued message, keyed by
 * host|scope|queue id (scope: the Postfix instance, "" for Exim). Bounded (least recently
 * seen goes first), expired by log time, and exported as plain JSON so the caller can persist
 * it next to its file offset and resume mid-message after a restart.
 *
 * Keys: nearly every log has one host and one instance, and building and hashing
 * "host|scope|qid" for every line cost more than the rest of a line's correlation. So the
 * first host and scope seen are the table's own: their messages are keyed by the queue id
 * alone, others by host|scope|qid (a queue id has no "|"). Snapshots hold the full form. The
 * host|qid index, which finds a message in another instance of the same host (a hand-off
 * between two Postfix instances), holds only the others: the own ones are found by id.
 */

/** A content-filter hand-off whose new queue id has not shown up yet. */
export interface PendingHandoff {
  src: string;
  copy: MessageState;
  at: number;
}

export interface StateLimits {
  maxMessages: number;
  ttlMs: number;
}

const REORDER_AFTER_MS = 60_000;
const NO_KIDS: readonly string[] = [];
// A bounce notice names the queue id of the notification it queued; the notification's own
// lines follow within seconds. One that never shows up (logged elsewhere, or a log that omits
// it) would otherwise be held for the whole TTL: one entry per bounce, days of them.
const NOTICE_WAIT_MS = 10 * 60_000;

/** Known only from another message's notice: none of its own lines seen. */
function isPlaceholder(m: MessageState): boolean {
  return m.from === undefined && m.acc === undefined && m.r.size === 0 && m.mid === undefined;
}

export class StateTable {
  readonly messages = new Map<string, MessageState>();
  readonly pending = new Map<string, PendingHandoff>();
  /** host|qid → key of the messages not in the own scope, to find the other end of a hand-off to another Postfix instance. */
  private readonly byQid = new Map<string, string>();
  /** Notification queue ids announced by a bounce notice whose lines have not come yet (key → log time). */
  private readonly noticeWaits = new Map<string, number>();
  /** The host and scope whose messages are keyed by queue id alone. */
  private own: { host: string; scope: string } | undefined;
  latest = 0;

  constructor(
    private readonly limits: StateLimits,
    snap?: Snapshot,
  ) {
    if (!snap) return;
    try {
      this.latest = Number(snap.latest) || 0;
      const first = snap.messages[0]?.[0];
      if (first !== undefined) {
        const a = first.indexOf("|");
        this.own = { host: first.slice(0, a), scope: first.slice(a + 1, first.lastIndexOf("|")) };
      }
      for (const [full, stored] of snap.messages) {
        const key = this.shortKey(full);
        const m = load(stored);
        if (m.root !== undefined) m.root = this.shortKey(m.root);
        if (m.kids) m.kids = m.kids.map((k) => this.shortKey(k));
        this.messages.set(key, m);
        if (key.includes("|")) this.byQid.set(this.qidKey(key), key);
      }
      for (const [key, h] of snap.handoffs ?? []) this.pending.set(key, { ...h, src: this.shortKey(h.src), copy: load(h.copy) });
    } catch {
      // A snapshot from another version or a damaged store: correlation restarts empty (some
      // events then lack earlier facts) rather than ingest failing to start.
      this.messages.clear();
      this.pending.clear();
      this.byQid.clear();
    }
  }

  /** The key of a queue id of this host and scope. */
  key(host: string, scope: string, qid: string): string {
    this.own ??= { host, scope };
    const own = this.own;
    return host === own.host && scope === own.scope ? qid : `${host}|${scope}|${qid}`;
  }

  get(key: string): MessageState | undefined {
    return this.messages.get(key);
  }

  /**
   * The state for key, created if new. A message mentioned again after a while moves to the
   * young end of the eviction order; within a minute it stays put (most of a message's lines
   * come within seconds, and re-inserting on every line costs more than the order is worth).
   */
  touch(key: string, qid: string, ts: number): MessageState {
    let m = this.messages.get(key);
    if (m) {
      if (ts - m.seen < REORDER_AFTER_MS) {
        if (ts > m.seen) m.seen = ts;
        return m;
      }
      this.messages.delete(key);
    } else {
      m = { qid, r: new Map(), seen: ts };
      const other = key.includes("|");
      if (other) this.byQid.set(this.qidKey(key), key);
      // A hand-off waiting for this queue id (rare: only content filters and aliases make one).
      const handoff = this.pending.size === 0 ? undefined : this.pending.get(this.qidKey(key));
      if (handoff) {
        this.pending.delete(this.qidKey(key));
        const live = this.messages.get(handoff.src);
        const src = live && knows(live) ? live : undefined;
        this.link(m, key, src ? handoff.src : undefined, src ?? handoff.copy);
      }
    }
    m.seen = Math.max(m.seen, ts);
    this.messages.set(key, m);
    if (this.messages.size > this.limits.maxMessages) {
      const oldest = this.messages.keys().next().value;
      if (oldest !== undefined) this.remove(oldest);
    }
    return m;
  }

  keyOfQid(host: string, qid: string): string | undefined {
    const own = this.own;
    if (own && host === own.host && this.messages.has(qid)) return qid;
    return this.byQid.get(this.hostQid(host, qid));
  }

  /** The live state whose story m continues, or m itself. */
  story(m: MessageState): MessageState {
    return (m.root !== undefined && this.messages.get(m.root)) || m;
  }

  /** Makes `kid` continue the story of `src` (content filter re-queued it). */
  link(kid: MessageState, kidKey: string, srcKey: string | undefined, src: MessageState): void {
    const story = this.story(src);
    const storyKey = src.root !== undefined && story !== src ? src.root : srcKey;
    if (kidKey === storyKey) return;
    kid.rootQid = src.rootQid ?? src.qid;
    copyStory(story, kid);
    // The filter's side may already have announced recipients (Exim "for"): share them.
    story.inj = union(story.inj, kid.inj);
    kid.inj = union(kid.inj, story.inj);
    if (storyKey !== undefined && this.messages.has(storyKey)) {
      kid.root = storyKey;
      story.kids ??= [];
      if (!story.kids.includes(kidKey)) story.kids.push(kidKey);
    }
  }

  /** A hand-off from srcKey to a queue id not seen yet (or seen in another instance). */
  handoff(host: string, newQid: string, srcKey: string, src: MessageState, ts: number): void {
    const pendingKey = this.hostQid(host, newQid);
    const existing = this.keyOfQid(host, newQid);
    const kid = existing === undefined ? undefined : this.messages.get(existing);
    if (existing !== undefined && kid) this.link(kid, existing, srcKey, src);
    else {
      // Merge rather than replace: a repeated hand-off line logged after the original's
      // "removed" comes from a fresh, empty state and must not erase what the first one knew.
      const fresh: PendingHandoff = { src: srcKey, copy: { qid: src.qid, r: new Map(), seen: ts }, at: ts };
      const entry = this.pending.get(pendingKey) ?? fresh;
      const story = this.story(src);
      copyStory(story, entry.copy);
      entry.copy.rootQid ??= src.rootQid ?? src.qid;
      entry.copy.inj = union(entry.copy.inj, story.inj);
      if (knows(story)) entry.src = srcKey;
      entry.at = ts;
      this.pending.set(pendingKey, entry);
    }
  }

  /** Forgets a message, first handing its story to the states that continue it. */
  remove(key: string): void {
    const m = this.messages.get(key);
    if (!m) return;
    this.messages.delete(key);
    if (key.includes("|")) {
      const qk = this.qidKey(key);
      if (this.byQid.get(qk) === key) this.byQid.delete(qk);
    }
    for (const kidKey of m.kids ?? NO_KIDS) {
      const kid = this.messages.get(kidKey);
      if (!kid || kid.root !== key) continue;
      copyStory(m, kid);
      kid.inj = union(kid.inj, m.inj);
      delete kid.root;
    }
  }

  /** The message a bounce notice announces: marked as a notice, and forgotten soon if it never shows up. */
  markNotice(key: string, qid: string, ts: number, notice: Notice): MessageState {
    const m = this.touch(key, qid, ts);
    if (isPlaceholder(m)) this.noticeWaits.set(key, ts);
    m.notice = notice;
    return m;
  }

  /** Drops what has not been mentioned for olderThanMs of log time. */
  expire(olderThanMs: number): void {
    const noticeCutoff = this.latest - Math.min(NOTICE_WAIT_MS, olderThanMs);
    for (const [key, at] of this.noticeWaits) {
      if (at >= noticeCutoff) break; // insertion order: the rest are younger
      this.noticeWaits.delete(key);
      const m = this.messages.get(key);
      if (m && isPlaceholder(m)) this.remove(key);
    }
    const cutoff = this.latest - olderThanMs;
    for (const [key, m] of this.messages) {
      if (m.seen >= cutoff) break; // LRU order: the rest are younger
      this.remove(key);
    }
    for (const [key, h] of this.pending) if (h.at < cutoff) this.pending.delete(key);
  }

  snapshot(): Snapshot {
    const full = (key: string) => (key.includes("|") || !this.own ? key : `${this.own.host}|${this.own.scope}|${key}`);
    return {
      version: 1,
      messages: [...this.messages].map(([k, m]) => {
        const stored = store(m);
        if (stored.root !== undefined) stored.root = full(stored.root);
        if (stored.kids) stored.kids = stored.kids.map(full);
        return [full(k), stored];
      }),
      handoffs: [...this.pending].map(([k, h]) => [k, { src: full(h.src), copy: store(h.copy), at: h.at }]),
      latest: this.latest,
    };
  }

  /** A snapshot's host|scope|qid as this table keys it. */
  private shortKey(full: string): string {
    const a = full.indexOf("|");
    const b = full.lastIndexOf("|");
    if (a === -1 || !this.own) return full;
    return full.slice(0, a) === this.own.host && full.slice(a + 1, b) === this.own.scope ? full.slice(b + 1) : full;
  }

  /** The host|qid index's key of a queue id on a host (built once per message, not per line). */
  private hostQid(host: string, qid: string): string {
    return `${host}|${qid}`;
  }

  /** "host|scope|qid" (or an own queue id) → "host|qid". */
  private qidKey(key: string): string {
    const a = key.indexOf("|");
    if (a === -1) return this.hostQid(this.own?.host ?? "", key);
    return this.hostQid(key.slice(0, a), key.slice(key.lastIndexOf("|") + 1));
  }
}

function union(a: Set<string> | undefined, b: Set<string> | undefined): Set<string> | undefined {
  if (!b || b.size === 0) return a;
  const out = new Set(a);
  for (const x of b) out.add(x);
  return out;
}

/** Whether a state knows the message (a line after "removed" can recreate an empty one). */
function knows(m: MessageState): boolean {
  return m.acc !== undefined || m.from !== undefined;
}

/** The message facts a continuation keeps, so the story survives its original's removal. */
function copyStory(from: MessageState, to: MessageState): void {
  if (from.from !== undefined) to.from = from.from;
  if (from.size !== undefined) to.size = from.size;
  if (from.nrcpt !== undefined) to.nrcpt = from.nrcpt;
  if (from.mid !== undefined) to.mid = from.mid;
  if (from.ip !== undefined) to.ip = from.ip;
  if (from.acc !== undefined) to.acc = from.acc;
  if (from.notice) to.notice = from.notice;
}
