// What the correlation state holds for one queued message, apart from the table that keeps
// them (state.ts) and their JSON form (snapshot.ts), so each of those can import it.
import type { NoticeKind } from "./mta-line.ts";

/** An event's `notice`, kept in the shape events carry it so every event of the message shares it. */
export interface Notice {
  kind: NoticeKind;
  /** The queue id events of the original message carry. */
  of_queue_id?: string;
  of_message_id?: string;
}

export interface RcptState {
  /** Delivery attempts logged so far (sent, deferred, bounced). */
  n: number;
  /** A final outcome was reported: a repeated final line is the same event, not a new one. */
  done?: 1;
  /** Last deferral, reported again when the message expires. */
  dsn?: string;
  resp?: string;
  relay?: string;
  orig?: string;
}

export interface MessageState {
  qid: string;
  /** First queue id of the story, when this queue file came from a content filter. */
  rootQid?: string;
  /** Key of the live state this one continues (content-filter hop); dropped when it goes. */
  root?: string;
  /** Keys of states that continue this one. */
  kids?: string[];
  from?: string;
  size?: number;
  nrcpt?: number;
  mid?: string;
  ip?: string;
  /** Log time of the line that put the message in the queue: the injection timestamp. */
  acc?: number;
  /** The MTA made this message as a notification about another one (bounce, delay warning, DSN). */
  notice?: Notice;
  /** Recipients that failed (bounced, expired) since the MTA last sent a notice about this message. */
  fails?: number;
  /** Recipients an injection event was emitted for. */
  inj?: Set<string>;
  r: Map<string, RcptState>;
  /** Log time this message was last mentioned. */
  seen: number;
}
