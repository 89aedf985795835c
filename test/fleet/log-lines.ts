// Postfix log lines for the fleet tests: each message of a node's log gives two events
// (injection, delivery) whose recipient names the node and the message's number, so what a
// receiver got can be traced back to the line that made it.
import type { ReceivedEvent } from "../helpers/delivery.ts";

/** Syslog time for a line written now-ish: Postfix's "Mmm dd hh:mm:ss" (UTC, as the parser reads it). */
function syslogStamp(ms: number): string {
  const d = new Date(ms);
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (x: number) => String(x).padStart(2, "0");
  return `${months[d.getUTCMonth()]} ${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** The recipient of message `i` of `host`: how a received event is traced to its line. */
export const rcptOf = (host: string, i: number) => `${host.toLowerCase()}-${String(i).padStart(7, "0")}@example.org`;

/**
 * Messages `from`…`to-1` of `host`: each a qmgr line and a delivery line, so two events
 * (injection, delivery) whose rcpt_to is rcptOf(host, i). Queue ids are distinct per host.
 */
export function messageLines(host: string, from: number, to: number, ms = Date.now()): string[] {
  const stamp = syslogStamp(ms);
  const base = 0x100000 * (1 + (host.charCodeAt(0) % 64));
  const out: string[] = [];
  for (let i = from; i < to; i++) {
    const qid = (base * 0x1000 + i).toString(16).toUpperCase();
    const rcpt = rcptOf(host, i);
    out.push(`${stamp} ${host} postfix/qmgr[1002]: ${qid}: from=<news@example.com>, size=1234, nrcpt=1 (queue active)`);
    out.push(
      `${stamp} ${host} postfix/smtp[1004]: ${qid}: to=<${rcpt}>, relay=mx.example.org[198.51.100.7]:25, delay=0.2, delays=0.1/0/0.05/0.05, dsn=2.0.0, status=sent (250 2.0.0 Ok)`,
    );
  }
  return out;
}

/** The expected log events of `host`'s messages 0…n-1 as "host type rcpt" keys. */
export function expectedLogKeys(host: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`${host} injection ${rcptOf(host, i)}`, `${host} delivery ${rcptOf(host, i)}`);
  return out;
}

export const logKey = (e: ReceivedEvent) => `${String(e.host)} ${e.type} ${String(e.rcpt_to)}`;
