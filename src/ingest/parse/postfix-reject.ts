import type { MtaLine } from "../mta-line.ts";
import { IGNORED, UNKNOWN } from "../mta-line.ts";
import { bracketAddr, findDsn, validDsn, wordValue } from "./fields.ts";

// Stages whose refusal is not about a message: address probing and queue flushing.
const NOT_MAIL = new Set(["VRFY", "ETRN"]);
// cleanup(8) header_checks/body_checks/milters name the part of the message they matched.
const CONTENT_STAGES = new Set(["header", "body", "content", "mime-header", "nested-header"]);
const FIELDS = /;\s*(?:from|to|proto|helo)=/;

/**
 * smtpd / postscreen:  "reject: RCPT from host[ip]: 550 5.1.1 <a@b>: text; from=<x> to=<y> proto=.. helo=<..>"
 * before-queue filter: "proxy-reject: END-OF-MESSAGE: 554 5.7.0 text; from=<x> to=<y> ..."
 * cleanup checks:      "reject: header Subject: .. from host[ip]; from=<x> to=<y> proto=..: 5.7.1 text"
 * `body` starts after the action word and its colon.
 */
export function parseReject(qid: string | undefined, body: string): MtaLine {
  const s = body.trimStart();
  const sp = s.indexOf(" ");
  if (sp === -1) return UNKNOWN;
  const stage = s.slice(0, sp);
  if (NOT_MAIL.has(stage)) return IGNORED;

  const line: MtaLine & { kind: "reject" } = { kind: "reject" };
  if (qid) line.qid = qid;
  const fieldsAt = s.search(FIELDS);
  const tail = fieldsAt === -1 ? "" : s.slice(fieldsAt);
  let text: string;

  if (CONTENT_STAGES.has(stage)) {
    const fromHost = s.lastIndexOf(" from ", fieldsAt === -1 ? s.length : fieldsAt);
    const ip = fromHost === -1 ? undefined : bracketAddr(s.slice(fromHost, fieldsAt === -1 ? s.length : fieldsAt));
    if (ip) line.clientIp = ip;
    const helo = tail.indexOf("helo=");
    const colon = tail.indexOf(": ", helo === -1 ? 0 : helo);
    text = colon === -1 ? "" : tail.slice(colon + 2);
  } else {
    let i = sp + 1;
    while (s.charCodeAt(i) === 32) i++;
    if (s.startsWith("from ", i)) {
      // The client is "host[addr]" or postscreen's "[addr]:port"; addresses hold ":" but never ": ".
      const close = s.indexOf("]", i);
      const colon = s.indexOf(": ", close === -1 ? i : close);
      if (colon === -1) return UNKNOWN;
      const ip = bracketAddr(s.slice(i + 5, colon));
      if (ip) line.clientIp = ip;
      i = colon + 2;
    }
    text = fieldsAt === -1 ? s.slice(i) : s.slice(i, fieldsAt);
  }

  text = text.trim();
  if (text) {
    line.response = text;
    const dsn = validDsn(findDsn(text));
    if (dsn) line.dsn = dsn;
  }
  if (tail) {
    const from = wordValue(tail, "from=");
    if (from !== undefined) line.from = from;
    const to = wordValue(tail, "to=");
    if (to !== undefined) line.rcpt = to;
  }
  return line;
}
