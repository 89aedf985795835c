import type { MtaLine, RcptOutcome } from "../mta-line.ts";
import { IGNORED, UNKNOWN } from "../mta-line.ts";
import { bracketAddr, findDsn, isEmail, isLocalAddr, parseNumber, validDsn } from "./fields.ts";
import { eximDuration, isEximId, scanExim } from "./exim-fields.ts";
import { parseEximReject } from "./exim-reject.ts";

// Deferrals that are not delivery attempts: the retry time had not come yet, or the
// configuration says "queue it" (queue_smtp_domains). Exim logs them on every queue run.
const NOT_AN_ATTEMPT = /retry time not (?:yet )?reached|explicitly queued/i;
// "**" after the retry period ran out is Exim's "expired".
const GAVE_UP = /^retry timeout exceeded|retry time not reached for any host after a long failure period/;

/**
 * One Exim main-log message (after the timestamp and optional [pid]). Pure, never throws.
 * Lines with a message id and a flag (<= => -> >> == ** *>) describe that message; lines
 * without an id are connection-level (rejections, daemon and queue-runner chatter).
 */
export function parseExim(message: string): MtaLine {
  const sp = message.indexOf(" ");
  const first = sp === -1 ? message : message.slice(0, sp);
  if (!isEximId(first)) return parseEximReject(undefined, message);
  const qid = first;
  const rest = sp === -1 ? "" : message.slice(sp + 1);
  const flag = rest.slice(0, 3);
  switch (flag) {
    case "<= ":
    case "(= ": // fakereject: accepted, though the client was told otherwise
      return arrival(qid, rest.slice(3));
    case "=> ":
    case "-> ":
    case ">> ": // cutthrough delivery
      return delivery(qid, rest.slice(3));
    case "== ":
      return failure(qid, rest.slice(3), "delay");
    case "** ":
      return failure(qid, rest.slice(3), "bounce");
    case "*> ": // delivery suppressed by -N: a test run, nothing happened
      return IGNORED;
  }
  if (rest === "Completed" || rest.startsWith("Completed ")) return { kind: "done", qid };
  return parseEximReject(qid, rest);
}

/** "<= sender H=host (helo) [ip] P=esmtp S=1234 id=msgid [for a@b c@d]"; "<= <> R=parent" is a bounce. */
function arrival(qid: string, s: string): MtaLine {
  const scan = scanExim(s);
  const sender = scan.words[0];
  if (sender === undefined) return UNKNOWN;
  const from = sender === "<>" ? "" : stripAngle(sender);
  const line: MtaLine & { kind: "accepted" } = { kind: "accepted", qid, from };
  const f = scan.fields;
  const size = parseNumber(f.S);
  if (size !== undefined) line.size = Math.round(size);
  const ip = f.H ? bracketAddr(f.H) : undefined;
  if (ip) line.clientIp = ip;
  if (f.id) line.messageId = stripAngle(f.id);
  if (scan.forList) line.rcpts = scan.forList.map(stripAngle);
  if (from === "" && f.R && isEximId(f.R)) line.noticeOf = f.R;
  return line;
}

/** "=> final <original> R=router T=transport H=host [ip] X=TLS.. C="250 OK id=X" QT=2s". */
function delivery(qid: string, s: string): MtaLine {
  const scan = scanExim(s);
  const line = recipient(qid, scan.words, "delivery");
  if (!line) return UNKNOWN;
  const f = scan.fields;
  addHop(line, f);
  if (f.C) {
    line.response = f.C;
    const dsn = validDsn(findDsn(f.C));
    if (dsn) line.dsn = dsn;
    // Handed to an MTA on this machine that queued it under a new Exim id: not final yet.
    const idAt = f.C.indexOf("id=");
    const newId = idAt === -1 ? "" : (f.C.slice(idAt + 3).split(/\s/)[0] ?? "");
    if (isEximId(newId) && newId !== qid && f.H && isLocalAddr(bracketAddr(f.H))) line.handoffQid = newId;
  }
  const qt = eximDuration(f.QT);
  if (qt !== undefined) line.delay = qt;
  return line;
}

/** "== addr [<orig>] R=r T=t defer (-44) H=..: reason" and "** addr [<orig>] R=r T=t H=.. : reason". */
function failure(qid: string, s: string, outcome: "delay" | "bounce"): MtaLine {
  const colon = s.indexOf(": ");
  const head = colon === -1 ? s : s.slice(0, colon);
  const reason = colon === -1 ? "" : s.slice(colon + 2).trim();
  if (outcome === "delay" && NOT_AN_ATTEMPT.test(reason)) return IGNORED;
  const scan = scanExim(head.endsWith(":") ? head.slice(0, -1) : head);
  const line = recipient(qid, scan.words, outcome === "bounce" && GAVE_UP.test(reason) ? "expired" : outcome);
  if (!line) return UNKNOWN;
  addHop(line, scan.fields);
  if (reason) {
    line.response = reason;
    const dsn = validDsn(findDsn(reason));
    if (dsn) line.dsn = dsn;
  }
  return line;
}

/**
 * Exim writes the delivered-to address first and the address the message was sent to in <>
 * when they differ (local part, alias expansion, pipe, file): rcpt_to is the first if it is an
 * address, else the bracketed one.
 */
function recipient(qid: string, words: string[], outcome: RcptOutcome): (MtaLine & { kind: "rcpt" }) | null {
  const first = words[0];
  if (first === undefined) return null;
  const finalAddr = stripAngle(first.endsWith(":") ? first.slice(0, -1) : first);
  const second = words[1];
  const orig = second !== undefined && second.startsWith("<") && second.endsWith(">") ? second.slice(1, -1) : undefined;
  if (isEmail(finalAddr) || orig === undefined) {
    const line: MtaLine & { kind: "rcpt" } = { kind: "rcpt", qid, outcome, rcpt: finalAddr };
    if (orig !== undefined && orig !== finalAddr) line.orig = orig;
    return line;
  }
  return { kind: "rcpt", qid, outcome, rcpt: orig };
}

function addHop(line: MtaLine & { kind: "rcpt" }, f: Record<string, string>): void {
  const relay = f.H ? f.H.replace(/\*$/, "") : f.T;
  if (relay) line.relay = relay;
}

function stripAngle(s: string): string {
  return s.length >= 2 && s.charCodeAt(0) === 60 && s.charCodeAt(s.length - 1) === 62 ? s.slice(1, -1) : s;
}
