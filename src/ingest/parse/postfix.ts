import type { MtaLine, NoticeKind } from "../mta-line.ts";
import { IGNORED, UNKNOWN } from "../mta-line.ts";
import { angle, bracketAddr, keyValue, parseNumber } from "./fields.ts";
import { parseReject } from "./postfix-reject.ts";
import { isQueueId, isQueueIdAt } from "./postfix-queue-id.ts";
import { parseStatus } from "./postfix-status.ts";

// Queue-id lines that carry no event. Listed (rather than "anything else") so that a new shape
// shows up in the not-understood statistics instead of vanishing.
const NOISE = [
  "host ",
  "lost connection",
  "conversation with",
  "enabling PIX",
  "skipped, still being delivered",
  "requeued",
  "placed on hold",
  "released from hold",
  "warning:",
  "info:",
  "prepend:",
  "replace:",
  "hold:",
  "discard:",
  "filter:",
  "redirect:",
  "bcc:",
  "warn:",
  "milter-hold:",
  "milter-discard:",
  "milter-header-redirect:",
  "reject_warning:",
  "proxy-accept:",
  "SASL ",
  "Cannot start TLS",
  "uid=",
  "resent-message-id=",
  "connect to",
  "TLS ",
  "Trusted TLS",
  "Untrusted TLS",
  "Verified TLS",
  "Anonymous TLS",
  "status=deferred (bounce failed)",
  "breaking line",
  "sender_canonical",
  "DKIM",
  "message-size",
  "enabling",
  "disabling",
];

/**
 * One Postfix message body (after "postfix/<program>[pid]: "). `program` is the service name
 * (last element of the syslog tag). Pure: no state, never throws.
 */
export function parsePostfix(program: string, message: string): MtaLine {
  const colon = message.indexOf(": ");
  if (colon === -1) return message.includes("status=") ? UNKNOWN : IGNORED;
  // Half the lines of a busy log are daemon chatter: decide on the head in place, and cut
  // strings only for the lines that go on.
  if (colon === 7 && message.startsWith("NOQUEUE")) return noQueue(message.slice(9));
  if (!isQueueIdAt(message, 0, colon)) {
    // Daemon chatter without a queue id: connects, TLS, warnings, statistics, postscreen
    // verdicts. proxy-reject is the one event logged this way (before-queue filter).
    if (message.startsWith("proxy-reject: ")) return parseReject(undefined, message.slice(14));
    return message.includes(", status=") ? UNKNOWN : IGNORED;
  }
  return queueLine(program, message.slice(0, colon), message.slice(colon + 2));
}

function noQueue(body: string): MtaLine {
  for (const action of ["reject: ", "milter-reject: ", "proxy-reject: "]) {
    if (body.startsWith(action)) return parseReject(undefined, body.slice(action.length));
  }
  return IGNORED; // reject_warning, discard, filter, hold, redirect, lost connection, ...
}

function queueLine(program: string, qid: string, body: string): MtaLine {
  const c = body.charCodeAt(0);
  if (c === 116 /* t */ && body.startsWith("to=")) return parseStatus(qid, body);
  if (c === 102 /* f */ && body.startsWith("from=")) return qmgrFrom(qid, body);
  if (body.startsWith("client=")) return client(qid, body);
  if (body.startsWith("message-id=")) return messageId(qid, body.slice(11));
  if (body === "removed") return { kind: "done", qid };
  if (body.startsWith("reject: ")) return parseReject(qid, body.slice(8));
  if (body.startsWith("milter-reject: ")) return parseReject(qid, body.slice(15));
  if (body.startsWith("proxy-reject: ")) return parseReject(qid, body.slice(14));
  const note = body.indexOf(" notification: ");
  if (note !== -1 && program === "bounce") return notice(qid, body, note);
  for (const prefix of NOISE) if (body.startsWith(prefix)) return IGNORED;
  return UNKNOWN;
}

// The bounce daemon's notices, to the sender or (notify_classes) to the postmaster:
// bounce_notify_service "non-delivery", bounce_warn_service "delay", bounce_trace_service
// "delivery status" (DSN NOTIFY=SUCCESS, or a relay to a host without DSN).
const NOTICE_KINDS: [string, NoticeKind][] = [
  ["sender non-delivery", "bounce"],
  ["postmaster non-delivery", "bounce"],
  ["sender delay", "delay"],
  ["postmaster delay", "delay"],
  ["sender delivery status", "success"],
];

/** bounce: "QID: sender non-delivery notification: NOTICEQID" (and its kin). */
function notice(qid: string, body: string, note: number): MtaLine {
  const noticeQid = body.slice(note + 15).trim();
  if (!isQueueId(noticeQid)) return UNKNOWN;
  const what = body.slice(0, note);
  for (const [words, kind] of NOTICE_KINDS) if (what === words) return { kind: "notice", qid, noticeQid, notice: kind };
  return UNKNOWN;
}

/** qmgr: "from=<a>, size=N, nrcpt=N (queue active)" or "from=<a>, status=expired, returned to sender". */
function qmgrFrom(qid: string, body: string): MtaLine {
  const a = angle(body, 5);
  if (!a) return UNKNOWN;
  const rest = body.slice(a.end);
  if (rest.includes("status=expired") || rest.includes("status=force-expired")) return { kind: "expired-all", qid, from: a.value };
  const size = parseNumber(keyValue(rest, "size="));
  if (size === undefined) return UNKNOWN;
  const line: MtaLine & { kind: "accepted" } = { kind: "accepted", qid, from: a.value, size };
  const nrcpt = parseNumber(keyValue(rest, "nrcpt="));
  if (nrcpt !== undefined) line.nrcpt = nrcpt;
  return line;
}

/** smtpd: "client=host[ip][:port][, sasl_..][, orig_queue_id=Q, orig_client=host[ip]]". */
function client(qid: string, body: string): MtaLine {
  const line: MtaLine & { kind: "client" } = { kind: "client", qid };
  const origClient = body.indexOf("orig_client=");
  // After a content filter the client is the filter; the sender's address is orig_client.
  const ip = bracketAddr(origClient === -1 ? body.slice(7, commaOrEnd(body, 7)) : body.slice(origClient));
  if (ip) line.clientIp = ip;
  const orig = keyValue(body, "orig_queue_id=");
  if (orig && isQueueId(orig)) line.origQid = orig;
  return line;
}

function commaOrEnd(s: string, from: number): number {
  const i = s.indexOf(",", from);
  return i === -1 ? s.length : i;
}

/** cleanup: "message-id=<id>"; some senders put the id there without brackets, or MIME-encoded. */
function messageId(qid: string, value: string): MtaLine {
  let id = value.trim();
  if (id.charCodeAt(0) === 60 && id.charCodeAt(id.length - 1) === 62) id = id.slice(1, -1);
  if (!id) return IGNORED;
  return { kind: "message-id", qid, messageId: id.length > 998 ? id.slice(0, 998) : id };
}
