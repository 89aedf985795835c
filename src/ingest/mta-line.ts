/**
 * What one MTA log message means, independent of the MTA: the Postfix and Exim parsers turn
 * messages into these (pure, one line at a time) and the correlator turns them into events.
 */
export type RcptOutcome = "delivery" | "delay" | "bounce" | "expired";

/** What a notification the MTA generated itself reports: a failure, a delay, a delivery (DSN SUCCESS). */
export type NoticeKind = "bounce" | "delay" | "success";

export type MtaLine =
  /** Postfix smtpd "QID: client=host[ip]" (with orig_queue_id= after a content filter). */
  | { kind: "client"; qid: string; clientIp?: string; origQid?: string }
  | { kind: "message-id"; qid: string; messageId: string }
  /** The message is in the queue: Postfix qmgr "from=, size=, nrcpt=" or Exim "<=". */
  | {
      kind: "accepted";
      qid: string;
      from: string;
      size?: number;
      nrcpt?: number;
      clientIp?: string;
      messageId?: string;
      /** Recipients listed on the line itself (Exim +received_recipients "for a b"). */
      rcpts?: string[];
      /** Set when the MTA generated this message about another one (Exim "<= <> R=id"): that one's id. */
      noticeOf?: string;
    }
  /** Postfix bounce daemon: QID got a notification message NOTICEQID (NDR, delay notice, DSN SUCCESS). */
  | { kind: "notice"; qid: string; noticeQid: string; notice: NoticeKind }
  | {
      kind: "rcpt";
      qid: string;
      outcome: RcptOutcome;
      rcpt: string;
      orig?: string;
      relay?: string;
      dsn?: string;
      response?: string;
      delay?: number;
      /** A content filter took the message and re-queued it under this id: not a final delivery. */
      handoffQid?: string;
    }
  /** Postfix qmgr "from=<>, status=expired, returned to sender": every pending recipient expired. */
  | { kind: "expired-all"; qid: string; from: string }
  | { kind: "reject"; qid?: string; clientIp?: string; from?: string; rcpt?: string; dsn?: string; response?: string }
  /** The queue file is gone (Postfix "removed", Exim "Completed"): correlation state can go. */
  | { kind: "done"; qid: string }
  /** Understood, and not an event (connect, TLS, warnings, statistics, ...). */
  | { kind: "ignored" }
  | { kind: "unknown" };

export const IGNORED: MtaLine = { kind: "ignored" };
export const UNKNOWN: MtaLine = { kind: "unknown" };
