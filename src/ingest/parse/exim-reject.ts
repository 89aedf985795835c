import type { MtaLine } from "../mta-line.ts";
import { IGNORED } from "../mta-line.ts";
import { bracketAddr, findDsn, validDsn } from "./fields.ts";
import { scanExim } from "./exim-fields.ts";

// What follows "rejected " for refusals of mail by policy (ACLs, local_scan, content scanning).
// Protocol errors ("SMTP protocol synchronization error ... rejected ...") are not policy.
const STAGES = ["RCPT ", "MAIL ", "after DATA", "by local_scan()", "connection in ", "EHLO or HELO", "DATA"];

/**
 * "H=host [ip] F=<from> rejected RCPT <to>: reason", "... temporarily rejected RCPT ...",
 * "rejected MAIL <from>: reason", "[id] ... rejected after DATA: reason". Anything else without
 * a delivery flag (daemon, queue runs, TLS, auth failures, frozen, ...) is ignored.
 */
export function parseEximReject(qid: string | undefined, s: string): MtaLine {
  if (s.startsWith("SMTP ")) return IGNORED;
  let at = s.indexOf("rejected ");
  while (at > 0 && s.charCodeAt(at - 1) !== 32) at = s.indexOf("rejected ", at + 1);
  if (at === -1) return IGNORED;
  const after = s.slice(at + 9);
  const stage = STAGES.find((p) => after.startsWith(p));
  if (!stage) return IGNORED;

  const headEnd = s.startsWith("temporarily ", at - 12) ? at - 12 : at;
  const head = scanExim(s.slice(0, headEnd));
  const line: MtaLine & { kind: "reject" } = { kind: "reject" };
  if (qid) line.qid = qid;
  const ip = head.fields.H ? bracketAddr(head.fields.H) : undefined;
  if (ip) line.clientIp = ip;
  if (head.fields.F !== undefined) line.from = unbracket(head.fields.F);

  let tail = after.slice(stage.length);
  if (stage === "RCPT " || stage === "MAIL ") {
    const addr = addressAt(tail);
    if (addr.value) {
      if (stage === "RCPT ") line.rcpt = addr.value;
      else if (line.from === undefined) line.from = addr.value;
    }
    tail = tail.slice(addr.end);
  }
  const colon = tail.indexOf(": ");
  const reason = colon === -1 ? "" : tail.slice(colon + 2).trim();
  if (reason) {
    line.response = reason;
    const dsn = validDsn(findDsn(reason));
    if (dsn) line.dsn = dsn;
  }
  return line;
}

/** "<a@b>: ..." or "a@b: ..." or "FROM:<a@b> ..." at the start of s. */
function addressAt(s: string): { value: string; end: number } {
  const lt = s.indexOf("<");
  const sp = s.search(/[\s]|: /);
  if (lt !== -1 && (sp === -1 || lt < sp || s.slice(0, lt).endsWith(":"))) {
    const gt = s.indexOf(">", lt);
    if (gt !== -1) return { value: s.slice(lt + 1, gt), end: gt + 1 };
  }
  let end = sp === -1 ? s.length : sp;
  if (s.charCodeAt(end - 1) === 58) end--;
  return { value: s.slice(0, end), end };
}

function unbracket(s: string): string {
  return s.startsWith("<") && s.endsWith(">") ? s.slice(1, -1) : s;
}
