import { type EventDraft, type MailEvent, toEvent } from "./emit.ts";
import type { MtaLine, NoticeKind } from "./mta-line.ts";
import { isLocalAddr } from "./parse/fields.ts";
import type { LogRecord } from "./record.ts";
import type { Snapshot } from "./snapshot.ts";
import type { MessageState, Notice } from "./message-state.ts";
import { type StateLimits, StateTable } from "./state.ts";

/**
 * Turns parsed lines into events, remembering per queued message what earlier lines said
 * (sender, size, Message-ID, client) so every event carries it.
 *
 * Injection timing: Postfix names a message's recipients only in its delivery lines, so the
 * injection for a recipient is emitted just before that recipient's first delivery, delay,
 * bounce or expiry, stamped with the time the message entered the queue (qmgr "from=" /
 * Exim "<="). When Exim lists the recipients on its "<=" line, injections go out right then.
 * No injection is emitted for a message whose queue entry was never seen (it came in before
 * hookd started reading).
 *
 * Notices: mail the MTA generated about another message (Postfix's bounce daemon names the
 * notice's queue id on a line of the original; Exim's "<= <> R=original") gives events like
 * any other mail, each carrying `notice` {kind, of_queue_id, of_message_id} so a receiver can
 * tie it to the message it is about. Null-sender mail that is not a notice is plain mail.
 *
 * Content filters: a "sent ... queued as NEW" to a hop on this machine is not a delivery; NEW
 * continues the same story (same queue_id reported: the original's, same sender, client,
 * Message-ID, and no second injection for recipients already announced).
 */
export class Correlator {
  readonly state: StateTable;

  constructor(limits: StateLimits, snap?: Snapshot) {
    this.state = new StateTable(limits, snap);
  }

  /** A line at log time ts that says nothing about a message: expiry still goes by it. */
  observe(ts: number): void {
    if (ts > this.state.latest) this.state.latest = ts;
  }

  /** Events for one line. `host` is the label events carry; `rec.host` scopes the state. */
  apply(rec: LogRecord, line: MtaLine, host: string): MailEvent[] {
    this.observe(rec.ts);
    const scope = scopeOf(rec.instance);
    const state = this.state;
    const keyOf = (qid: string) => state.key(rec.host, scope, qid);
    const out: MailEvent[] = [];
    const ctx = { rec, host, scope, out };

    switch (line.kind) {
      case "accepted": {
        const m = this.state.touch(keyOf(line.qid), line.qid, rec.ts);
        // A content filter's re-queued copy keeps the original's facts (size before the
        // filter added headers, the real client rather than the filter).
        const own = m.rootQid === undefined;
        if (own || m.from === undefined) m.from = line.from;
        if (line.size !== undefined && (own || m.size === undefined)) m.size = line.size;
        if (line.nrcpt !== undefined && (own || m.nrcpt === undefined)) m.nrcpt = line.nrcpt;
        if (line.clientIp !== undefined && m.ip === undefined) m.ip = line.clientIp;
        if (line.messageId !== undefined) m.mid = line.messageId;
        if (line.noticeOf !== undefined) m.notice = this.eximNotice(this.state.get(keyOf(line.noticeOf)), line.noticeOf);
        // qmgr repeats this line on every retry: the first one is when the message came in.
        m.acc ??= rec.ts;
        // Mail from this machine may be a content filter's re-injection whose hand-off line is
        // still to come: its recipients are injected when first delivered, as for Postfix.
        if (line.rcpts && !isLocalAddr(line.clientIp)) for (const rcpt of line.rcpts) this.inject(ctx, m, rcpt);
        break;
      }
      case "client": {
        const key = keyOf(line.qid);
        const m = this.state.touch(key, line.qid, rec.ts);
        if (line.clientIp !== undefined && (m.rootQid === undefined || m.ip === undefined)) m.ip = line.clientIp;
        if (line.origQid !== undefined && m.root === undefined && m.rootQid === undefined) {
          const srcKey = this.state.get(keyOf(line.origQid)) ? keyOf(line.origQid) : this.state.keyOfQid(rec.host, line.origQid);
          const src = srcKey === undefined ? undefined : this.state.get(srcKey);
          if (src && srcKey !== undefined) this.state.link(m, key, srcKey, src);
        }
        break;
      }
      case "message-id":
        this.state.touch(keyOf(line.qid), line.qid, rec.ts).mid = line.messageId;
        break;
      case "notice": {
        const orig = this.state.touch(keyOf(line.qid), line.qid, rec.ts);
        const notice: Notice = { kind: line.notice, of_queue_id: orig.rootQid ?? orig.qid };
        const mid = this.state.story(orig).mid ?? orig.mid;
        if (mid !== undefined) notice.of_message_id = mid;
        this.state.markNotice(keyOf(line.noticeQid), line.noticeQid, rec.ts, notice);
        break;
      }
      case "rcpt":
        this.recipient(ctx, keyOf(line.qid), line);
        break;
      case "expired-all": {
        const m = this.state.touch(keyOf(line.qid), line.qid, rec.ts);
        const story = this.state.story(m);
        if (m.r.size === 0) {
          // Its recipients were never logged here (it was deferred before hookd started reading).
          m.fails = (m.fails ?? 0) + 1;
          out.push(this.draft(ctx, m, { type: "expired", mailFrom: story.from ?? line.from, response: "expired, returned to sender" }));
        }
        for (const [rcpt, rs] of m.r) {
          if (rs.done) continue;
          this.inject(ctx, m, rcpt, rs.orig);
          rs.done = 1;
          m.fails = (m.fails ?? 0) + 1;
          out.push(
            this.draft(ctx, m, {
              type: "expired",
              rcpt,
              orig: rs.orig,
              relay: rs.relay,
              dsn: rs.dsn,
              response: rs.resp ?? "expired, returned to sender",
              attempt: rs.n,
            }),
          );
        }
        break;
      }
      case "reject": {
        const m = line.qid === undefined ? undefined : this.state.get(keyOf(line.qid));
        const d: Draft = { type: "policy_rejection", rcpt: line.rcpt, dsn: line.dsn, response: line.response };
        if (m) out.push(this.draft(ctx, m, { ...d, mailFrom: line.from, clientIp: line.clientIp }));
        else
          out.push(
            toEvent({
              ...d,
              type: "policy_rejection",
              ts: rec.ts,
              host,
              scope,
              queueId: line.qid,
              mailFrom: line.from,
              clientIp: line.clientIp,
            }),
          );
        break;
      }
      case "done":
        this.state.remove(keyOf(line.qid));
        break;
    }
    return out;
  }

  private recipient(ctx: Ctx, key: string, line: MtaLine & { kind: "rcpt" }): void {
    const m = this.state.touch(key, line.qid, ctx.rec.ts);
    let rs = m.r.get(line.rcpt);
    if (!rs) {
      rs = { n: 0 };
      m.r.set(line.rcpt, rs);
    }
    if (line.orig !== undefined) rs.orig = line.orig;
    // A final outcome logged twice (a duplicated line, a per-recipient expiry after qmgr's
    // message-wide one) is one event.
    if (rs.done && line.outcome !== "delay") return;
    if (line.outcome !== "expired") rs.n++;
    if (line.handoffQid !== undefined) {
      rs.done = 1;
      // Link before injecting (the re-queued copy may already have announced this recipient)
      // and again after (so a copy still waiting for its queue id knows of this injection).
      this.state.handoff(ctx.rec.host, line.handoffQid, key, m, ctx.rec.ts);
      this.inject(ctx, m, line.rcpt, line.orig);
      this.state.handoff(ctx.rec.host, line.handoffQid, key, m, ctx.rec.ts);
      return;
    }
    this.inject(ctx, m, line.rcpt, line.orig);
    if (line.outcome === "delay") {
      rs.dsn = line.dsn;
      rs.resp = line.response;
      rs.relay = line.relay;
    } else {
      rs.done = 1;
      if (line.outcome !== "delivery") m.fails = (m.fails ?? 0) + 1;
    }
    const expiredWithoutReason = line.outcome === "expired" && !line.dsn;
    ctx.out.push(
      this.draft(ctx, m, {
        type: line.outcome,
        rcpt: line.rcpt,
        orig: line.orig,
        relay: line.relay ?? (expiredWithoutReason ? rs.relay : undefined),
        dsn: line.dsn ?? (line.outcome === "expired" ? rs.dsn : undefined),
        response: expiredWithoutReason && rs.resp ? rs.resp : line.response,
        delay: line.delay,
        attempt: rs.n,
      }),
    );
  }

  /** The injection for rcpt, unless already emitted for it (or its original address). */
  private inject(ctx: Ctx, m: MessageState, rcpt: string, orig?: string): void {
    const story = this.state.story(m);
    if (story.acc === undefined || story.from === undefined) return;
    const inj = (story.inj ??= new Set());
    if (inj.has(rcpt) || (orig !== undefined && inj.has(orig))) return;
    // The message was accepted for the address it was sent to, before any alias expansion.
    const accepted = orig ?? rcpt;
    inj.add(accepted);
    inj.add(rcpt);
    if (story !== m) (m.inj ??= new Set()).add(accepted);
    ctx.out.push(this.draft(ctx, m, { type: "injection", rcpt: accepted, ts: story.acc }));
  }

  /** The event: what the line says (d) where it says it, else what the message's story knows. */
  private draft(ctx: Ctx, m: MessageState, d: Draft): MailEvent {
    const story = this.state.story(m);
    // Field by field rather than a spread of the defined ones: this runs once per event.
    return toEvent({
      type: d.type,
      ts: d.ts ?? ctx.rec.ts,
      host: d.host ?? ctx.host,
      scope: d.scope ?? ctx.scope,
      queueId: d.queueId ?? m.rootQid ?? m.qid,
      messageId: d.messageId ?? story.mid ?? m.mid,
      mailFrom: d.mailFrom ?? story.from ?? m.from,
      rcpt: d.rcpt,
      orig: d.orig,
      relay: d.relay,
      dsn: d.dsn,
      response: d.response,
      delay: d.delay,
      size: d.size ?? story.size ?? m.size,
      nrcpt: d.nrcpt ?? story.nrcpt ?? m.nrcpt,
      clientIp: d.clientIp ?? story.ip ?? m.ip,
      attempt: d.attempt,
      notice: story.notice ?? m.notice,
    });
  }

  /**
   * What an Exim "<= <> R=id" is: Exim writes the same line for a bounce, a delay warning and
   * a DSN success. A recipient of the original that failed since its last notice makes it a
   * bounce; else one still deferred, a delay warning; else a success notice. With the
   * original never seen, a bounce (by far the most common).
   */
  private eximNotice(orig: MessageState | undefined, ofId: string): Notice {
    if (!orig) return { kind: "bounce", of_queue_id: ofId };
    let kind: NoticeKind = "success";
    if (orig.fails) {
      kind = "bounce";
      orig.fails = 0;
    } else {
      for (const rs of orig.r.values()) if (!rs.done) kind = "delay";
    }
    const notice: Notice = { kind, of_queue_id: orig.rootQid ?? orig.qid };
    const mid = this.state.story(orig).mid ?? orig.mid;
    if (mid !== undefined) notice.of_message_id = mid;
    return notice;
  }

  snapshot(): Snapshot {
    return this.state.snapshot();
  }
}

type Draft = Partial<EventDraft> & Pick<EventDraft, "type">;

interface Ctx {
  rec: LogRecord;
  host: string;
  scope: string;
  out: MailEvent[];
}

/**
 * Postfix queues belong to an instance ("postfix-out"); "postfix/submission" is a service
 * of the "postfix" instance, logging under its own syslog_name but sharing its queue.
 */
let lastInstance = "";
let lastScope = "";

export function scopeOf(instance: string): string {
  if (instance === lastInstance) return lastScope;
  const slash = instance.indexOf("/");
  lastInstance = instance;
  lastScope = slash === -1 ? instance : instance.slice(0, slash);
  return lastScope;
}
