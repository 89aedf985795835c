import { type Field, collapse, emailIn, fieldGroups, first, isoDate, mtaName, statusCode, typedValue } from "./fields.ts";
import type { Mail } from "./mail.ts";
import { returnedFromParts } from "./returned.ts";
import type { DsnAction, DsnRecipient, DsnReport, ReportMeta, TokenAddress } from "./types.ts";

// RFC 3464 delivery status notifications: a message/delivery-status part (or the UTF-8
// message/global-delivery-status of RFC 6533) holding one group of per-message fields, then a
// group per recipient. Found by the part, not by report-type: OpenSMTPD and others send it in a
// multipart/mixed. Field groups that run together (no blank line) are still read: a group with
// recipient fields is a recipient, per-message fields are taken from wherever they appear.

export const DSN_PART_TYPES: readonly string[] = ["message/delivery-status", "message/global-delivery-status"];

const MAX_RECIPIENTS = 1000;
const ACTIONS: readonly DsnAction[] = ["failed", "delayed", "delivered", "relayed", "expanded"];

/**
 * The DSN in a message, or undefined when it has no delivery-status part with a recipient in
 * it. A multipart/report of type delivery-status whose parts were lost (a broken boundary, a
 * report pasted as text) is read from its text.
 */
export function parseDsn(mail: Mail, report: ReportMeta, verp: TokenAddress[]): DsnReport | undefined {
  const parts = mail.parts.filter((p) => DSN_PART_TYPES.includes(p.type));
  const texts = parts.length > 0 ? parts.map((p) => p.text) : mail.reportType === "delivery-status" ? [mail.text] : [];
  const groups = texts.flatMap((t) => fieldGroups(t));
  const recipients: DsnRecipient[] = [];
  for (const g of groups) {
    if (recipients.length >= MAX_RECIPIENTS) break;
    const r = recipientOf(g);
    if (r) recipients.push(r);
  }
  if (recipients.length === 0) return undefined;
  const perMessage = groups.flat();
  const dsn: DsnReport = { kind: "dsn", report, verp, recipients };
  const reporting = mtaName(first(perMessage, "reporting-mta"));
  if (reporting) dsn.reportingMta = reporting;
  const arrival = isoDate(first(perMessage, "arrival-date"));
  if (arrival) dsn.arrivalDate = arrival;
  const qid = /^[A-Za-z0-9]{5,64}$/.exec(first(perMessage, "x-postfix-queue-id") ?? "")?.[0];
  if (qid) dsn.queueId = qid;
  const original = returnedFromParts(mail.parts);
  if (original) dsn.original = original;
  return dsn;
}

function recipientOf(g: readonly Field[]): DsnRecipient | undefined {
  const finalRecipient = emailIn(first(g, "final-recipient"));
  const originalRecipient = emailIn(first(g, "original-recipient"));
  const actionText = first(g, "action")?.toLowerCase();
  if (!finalRecipient && !originalRecipient) return undefined;
  // "failed (bad destination)" and similar: the first word is the action.
  const word = actionText?.split(/[\s(;]/)[0] ?? "";
  const r: DsnRecipient = { action: (ACTIONS as readonly string[]).includes(word) ? (word as DsnAction) : "unknown" };
  if (finalRecipient) r.finalRecipient = finalRecipient;
  if (originalRecipient) r.originalRecipient = originalRecipient;
  const status = statusCode(first(g, "status"));
  if (status) r.status = status;
  const diag = first(g, "diagnostic-code");
  if (diag) {
    const { type, value } = typedValue(diag);
    const text = collapse(value);
    if (text) r.diagnostic = text;
    if (type) r.diagnosticType = type;
  }
  const remote = mtaName(first(g, "remote-mta"));
  if (remote) r.remoteMta = remote;
  const last = isoDate(first(g, "last-attempt-date"));
  if (last) r.lastAttemptDate = last;
  // No Action field at all: the status class says what happened (RFC 3464 makes both required).
  if (r.action === "unknown" && status) r.action = status.startsWith("5") ? "failed" : status.startsWith("4") ? "delayed" : "delivered";
  return r;
}
