// Small scanners shared by the Postfix and Exim parsers. indexOf and charCode loops instead of
// one big regex per line: log lines are long and regexes with alternation backtrack badly.

/**
 * The value of "<...>" starting at s[i] === "<", ending at the first ">" that is followed by a
 * separator (",", " ", ";") or the end, so "<from@x, @y>" and "<<a@b>>" come out whole.
 */
export function angle(s: string, i: number): { value: string; end: number } | null {
  if (s.charCodeAt(i) !== 60) return null;
  let j = s.indexOf(">", i + 1);
  while (j !== -1) {
    const next = s.charCodeAt(j + 1);
    if (j + 1 >= s.length || next === 44 || next === 32 || next === 59 || next === 58) {
      return { value: s.slice(i + 1, j), end: j + 1 };
    }
    j = s.indexOf(">", j + 1);
  }
  return null;
}

/** The value after `key` (e.g. "from=") found at or after `from` in s: "<...>" or up to ",", ";" or space. */
export function keyValue(s: string, key: string, from = 0): string | undefined {
  const k = s.indexOf(key, from);
  if (k === -1) return undefined;
  const i = k + key.length;
  if (s.charCodeAt(i) === 60) return angle(s, i)?.value;
  let j = i;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 44 || c === 32 || c === 59) break;
    j++;
  }
  return s.slice(i, j);
}

/** Like keyValue, but `key` must start a word ("to=" must not match inside "proto="). */
export function wordValue(s: string, key: string): string | undefined {
  let k = s.indexOf(key);
  while (k > 0) {
    const c = s.charCodeAt(k - 1);
    if (c === 32 || c === 44 || c === 59) break;
    k = s.indexOf(key, k + 1);
  }
  return k === -1 ? undefined : keyValue(s, key, k);
}

/** The address inside the last "[...]" of a "host[addr]" or "host [addr]:port" string. */
export function bracketAddr(s: string): string | undefined {
  const close = s.lastIndexOf("]");
  if (close === -1) return undefined;
  const open = s.lastIndexOf("[", close);
  if (open === -1) return undefined;
  const addr = s.slice(open + 1, close);
  return addr.length > 0 && addr !== "unknown" ? addr : undefined;
}

/** Loopback or a unix socket: the next hop is on this machine (a content filter, LMTP, ...). */
export function isLocalAddr(addr: string | undefined): boolean {
  if (!addr) return false;
  return addr.startsWith("127.") || addr === "::1" || addr.includes("/") || addr === "localhost";
}

const EMAIL = /^[^\s@<>]+@[^\s@<>]+$/;

/** What EventInput accepts as rcpt_to / orig_rcpt; anything else is left off the event. */
export function isEmail(s: string | undefined): s is string {
  if (s === undefined) return false;
  // A recipient's injection and outcome come one after the other: test it once.
  if (s === lastEmail) return lastIsEmail;
  lastEmail = s;
  lastIsEmail = s.length >= 3 && s.length <= 320 && EMAIL.test(s);
  return lastIsEmail;
}

let lastEmail = "";
let lastIsEmail = false;

// findDsn and findSmtpCode live in events/smtp-reply.ts (the bounce classifier uses them too).
export { findDsn, findSmtpCode } from "../../events/smtp-reply.ts";

/** A dsn= value as EventInput accepts it. */
export function validDsn(s: string | undefined): string | undefined {
  return s !== undefined && /^[245]\.\d{1,3}\.\d{1,3}$/.test(s) ? s : undefined;
}

/** The id after "queued as " in a reply ("250 2.0.0 Ok: queued as 4BCD21C03F2"). */
export function queuedAs(response: string): string | undefined {
  const k = response.indexOf("queued as ");
  if (k === -1) return undefined;
  let j = k + 10;
  while (j < response.length && isAlnum(response.charCodeAt(j))) j++;
  return j > k + 10 ? response.slice(k + 10, j) : undefined;
}

export function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

export function parseNumber(s: string | undefined): number | undefined {
  if (s === undefined || s === "") return undefined;
  const n = Number(s);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}
