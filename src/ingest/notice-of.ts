import type { MessageState, Notice } from "./message-state.ts";
import type { NoticeKind } from "./mta-line.ts";
import type { StateTable } from "./state.ts";

// What a notice the MTA generated says about the message it is about (the `notice` its events carry).

/** A notice of `kind` about orig: the queue id orig's events carry, and its Message-ID when known. */
export function noticeAbout(state: StateTable, orig: MessageState, kind: NoticeKind): Notice {
  const notice: Notice = { kind, of_queue_id: orig.rootQid ?? orig.qid };
  const mid = state.story(orig).mid ?? orig.mid;
  if (mid !== undefined) notice.of_message_id = mid;
  return notice;
}

/**
 * What an Exim "<= <> R=id" is: Exim writes the same line for a bounce, a delay warning and
 * a DSN success. A recipient of the original that failed since its last notice makes it a
 * bounce; else one still deferred, a delay warning; else a success notice. With the
 * original never seen, a bounce (by far the most common).
 */
export function eximNotice(state: StateTable, orig: MessageState | undefined, ofId: string): Notice {
  if (!orig) return { kind: "bounce", of_queue_id: ofId };
  let kind: NoticeKind = "success";
  if (orig.fails) {
    kind = "bounce";
    orig.fails = 0;
  } else {
    for (const rs of orig.r.values()) if (!rs.done) kind = "delay";
  }
  return noticeAbout(state, orig, kind);
}
