import type { MtaLine, RcptOutcome } from "../mta-line.ts";
import { IGNORED, UNKNOWN } from "../mta-line.ts";
import { angle, bracketAddr, isLocalAddr, keyValue, parseNumber, queuedAs, validDsn } from "./fields.ts";
import { isQueueId } from "./postfix-queue-id.ts";

// status= words of delivery agents. Verification probes (deliverable, undeliverable,
// undeliverable-but-not-cached) are address checks, not mail: they map to nothing.
const OUTCOMES: Record<string, RcptOutcome | null> = {
  sent: "delivery",
  deferred: "delay",
  bounced: "bounce",
  expired: "expired",
  "force-expired": "expired",
  // soft_bounce=yes: it would have bounced, but Postfix keeps it queued and retries.
  SOFTBOUNCE: "delay",
  deliverable: null,
  undeliverable: null,
  "undeliverable-but-not-cached": null,
};

/**
 * "to=<a>, [orig_to=<b>,] relay=R, [conn_use=N,] delay=D, delays=.., [tls=..,] dsn=X, status=S (reply)"
 * as smtp, lmtp, local, virtual, pipe, error, discard (and qmgr on expiry) write it. The reply
 * keeps its own commas and parentheses: it runs from the first "(" after the status word to
 * the line's last ")".
 */
export function parseStatus(qid: string, body: string): MtaLine {
  const st = body.indexOf("status=", 3);
  if (st === -1) return UNKNOWN;
  let wEnd = st + 7;
  while (wEnd < body.length) {
    const c = body.charCodeAt(wEnd);
    if (c === 32 || c === 44 || c === 40) break;
    wEnd++;
  }
  const word = body.slice(st + 7, wEnd);
  const outcome = OUTCOMES[word];
  if (outcome === undefined) return UNKNOWN;
  if (outcome === null) return IGNORED;

  const head = body.slice(0, st);
  let rcpt: string;
  let after: number;
  if (head.charCodeAt(3) === 60) {
    const a = angle(head, 3);
    if (!a) return UNKNOWN;
    rcpt = a.value;
    after = a.end;
  } else {
    // Old local(8) logs "to=user@host," without brackets.
    const comma = head.indexOf(",", 3);
    if (comma === -1) return UNKNOWN;
    rcpt = head.slice(3, comma);
    after = comma;
  }

  const line: MtaLine & { kind: "rcpt" } = { kind: "rcpt", qid, outcome, rcpt };
  const orig = keyValue(head, "orig_to=", after);
  if (orig) line.orig = orig;
  const relay = keyValue(head, "relay=", after);
  if (relay && relay !== "none") line.relay = relay;
  const delay = parseNumber(keyValue(head, "delay=", after));
  if (delay !== undefined) line.delay = delay;
  const dsn = validDsn(keyValue(head, "dsn=", after));
  if (dsn) line.dsn = dsn;

  const rest = body.slice(wEnd).trimEnd();
  const open = rest.indexOf("(");
  let response: string;
  if (open !== -1 && rest.charCodeAt(rest.length - 1) === 41) response = rest.slice(open + 1, -1);
  else response = rest.replace(/^[,\s]+/, "").trimEnd();
  if (response) line.response = response;

  if (outcome === "delivery" && response) {
    const next = handoffTarget(qid, relay, response);
    if (next) line.handoffQid = next;
  }
  return line;
}

/**
 * A "sent" whose reply says "queued as NEWID" from a next hop on this machine (or amavis's
 * "from MTA(...)" relay of its downstream's reply) is a content filter or another local
 * Postfix instance taking the message: the story continues under NEWID.
 */
function handoffTarget(qid: string, relay: string | undefined, response: string): string | undefined {
  if (!relay) return undefined;
  // local(8) alias/.forward expansion: "status=sent (forwarded as NEWQID)".
  if (relay === "local") {
    const fwd = /^forwarded as ([0-9A-Za-z]+)$/.exec(response)?.[1];
    return fwd && fwd !== qid && isQueueId(fwd) ? fwd : undefined;
  }
  if (!isLocalAddr(bracketAddr(relay)) && !response.includes("from MTA(")) return undefined;
  const next = queuedAs(response);
  // The same id back cannot be this machine's queue: it is another host's, so a real delivery.
  return next === qid || next === undefined || !isQueueId(next) ? undefined : next;
}
