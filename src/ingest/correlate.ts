import { type EventDraft, type MailEvent, toEvent } from "./emit.ts";
import type { MtaLine } from "./mta-line.ts";
import { isLocalAddr } from "./parse/fields.ts";
import { type LogRecord, scopeOf } from "./record.ts";
import type { Snapshot } from "./snapshot.ts";
import type { MessageState } from "./message-state.ts";
import { eximNotice, noticeAbout } from "./notice-of.ts";
import { HOLD_GRACE_MS, isOwnMessageId, NoticeHold } from "./notice-hold.ts";
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
 * Postfix may log a notice's own lines before the one that names it: notice-hold.ts holds
 * the events of mail that looks like one until then.
 *
 * Content filters: a "sent ... queued as NEW" to a hop on this machine is not a delivery; NEW
 * continues the same story (same queue_id reported: the original's, same sender, client,
 * Message-ID, and no second injection for recipients already announced).
 */
export class Correlator {
  readonly state: StateTable;
  private readonly hold: NoticeHold;

  constructor(limits: StateLimits, snap?: Snapshot) {
    this.state = new StateTable(limits, snap);
    this.hold = new NoticeHold(snap?.holds);
  }

  /** Messages whose events are held, waiting for the line that says they are a notice. */
  get holding(): number {
    return this.hold.size;
  }

  /** Held events whose wait is over by the log's clock (call after observe). */
  due(): MailEvent[] {
    const out: MailEvent[] = [];
    this.hold.due(this.state.latest, out);
    return out;
  }

  /** Every held event, now, without notice: the input ended or went quiet. */
  flush(): MailEvent[] {
    const out: MailEvent[] = [];
    this.hold.all(out);
    return out;
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
    if (this.hold.size !== 0) this.hold.due(state.latest, out);
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
        if (line.noticeOf !== undefined) m.notice = eximNotice(state, state.get(keyOf(line.noticeOf)), line.noticeOf);
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
        const notice = noticeAbout(state, state.touch(keyOf(line.qid), line.qid, rec.ts), line.notice);
        const released = this.hold.size !== 0 && this.hold.named(rec.host, line.noticeQid, notice, out);
        // A notice whose lines all came first is gone already: nothing left to mark.
        if (!released || this.state.get(keyOf(line.noticeQid)))
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
          this.emit(ctx, m, { type: "expired", mailFrom: story.from ?? line.from, response: "expired, returned to sender" });
        }
        for (const [rcpt, rs] of m.r) {
          if (rs.done) continue;
          this.inject(ctx, m, rcpt, rs.orig);
          rs.done = 1;
          m.fails = (m.fails ?? 0) + 1;
          this.emit(ctx, m, {
            type: "expired",
            rcpt,
            orig: rs.orig,
            relay: rs.relay,
            dsn: rs.dsn,
            response: rs.resp ?? "expired, returned to sender",
            attempt: rs.n,
          });
        }
        break;
      }
      case "reject": {
        const m = line.qid === undefined ? undefined : this.state.get(keyOf(line.qid));
        const d: Draft = { type: "policy_rejection", rcpt: line.rcpt, dsn: line.dsn, response: line.response };
        if (m) this.emit(ctx, m, { ...d, mailFrom: line.from, clientIp: line.clientIp });
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
    this.emit(ctx, m, {
      type: line.outcome,
      rcpt: line.rcpt,
      orig: line.orig,
      relay: line.relay ?? (expiredWithoutReason ? rs.relay : undefined),
      dsn: line.dsn ?? (line.outcome === "expired" ? rs.dsn : undefined),
      response: expiredWithoutReason && rs.resp ? rs.resp : line.response,
      delay: line.delay,
      attempt: rs.n,
    });
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
    this.emit(ctx, m, { type: "injection", rcpt: accepted, ts: story.acc });
  }

  /**
   * The event out, or held (notice-hold.ts) while it may still turn out to be a notice: mail
   * from <> not known as one, with the Message-ID Postfix gives its own mail, that entered the
   * queue no more than the grace ago. Held under the story's first queue id, the one the
   * bounce daemon's line names; behind the message's events held already, whatever it is.
   */
  private emit(ctx: Ctx, m: MessageState, d: Draft): void {
    const e = this.draft(ctx, m, d);
    const mayBeNotice = e.mail_from === "" && e.notice === undefined;
    if (!mayBeNotice && this.hold.size === 0) {
      ctx.out.push(e);
      return;
    }
    const qid = m.rootQid ?? m.qid;
    const key = `${ctx.rec.host}|${ctx.scope}|${qid}`;
    const acc = this.state.story(m).acc;
    const fresh = mayBeNotice && acc !== undefined && this.state.latest <= acc + HOLD_GRACE_MS;
    if (this.hold.has(key) || (fresh && isOwnMessageId(e.message_id, qid))) this.hold.add(key, acc ?? ctx.rec.ts, e, ctx.out);
    else ctx.out.push(e);
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

  snapshot(): Snapshot {
    const snap = this.state.snapshot();
    if (this.hold.size !== 0) snap.holds = this.hold.snapshot();
    return snap;
  }
}

type Draft = Partial<EventDraft> & Pick<EventDraft, "type">;

interface Ctx {
  rec: LogRecord;
  host: string;
  scope: string;
  out: MailEvent[];
}
