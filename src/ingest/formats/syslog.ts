import { type LogRecord, programOf, splitTag } from "../record.ts";
import { clock, digits, fraction, inferYear, isoDate, monthIndex, toEpoch, zoneOffset } from "./time.ts";

/**
 * Syslog-style lines, as rsyslog, syslog-ng and Postfix's own maillog_file write them:
 *   Nov 23 13:07:09 host prog[pid]: msg                       (RFC 3164, no year)
 *   2026-11-23T13:07:09.123456+01:00 host prog[pid]: msg      (RFC 3339, Debian 12 default)
 *   2015-12-14T00:06:12+0000 host prog[pid]: msg              (offset without colon)
 * Returns null for anything else; the caller counts it as not understood.
 */
export class SyslogReader {
  // Lines arrive in bursts within the same hour: remember that hour's epoch start so most
  // lines cost neither a Date nor a clock read. Re-derived when the line's hour changes.
  private hourKey = -1;
  private hourBase = 0;

  constructor(private readonly now: () => number) {}

  read(line: string): LogRecord | null {
    const c0 = line.charCodeAt(0);
    const stamp = c0 >= 48 && c0 <= 57 ? this.rfc3339(line) : this.traditional(line);
    if (!stamp) return null;
    return readHostAndTag(line, stamp.end, stamp.ts);
  }

  private traditional(line: string): { ts: number; end: number } | null {
    const sp = line.indexOf(" ");
    if (sp < 1 || sp > 6) return null;
    const mo = monthIndex(line.slice(0, sp));
    if (mo < 0) return null;
    let i = sp + 1;
    if (line.charCodeAt(i) === 32) i++; // "Apr  7": day padded with a space
    const twoDigit = line.charCodeAt(i + 1) !== 32;
    const d = digits(line, i, twoDigit ? 2 : 1);
    if (d < 1 || d > 31) return null;
    i += twoDigit ? 3 : 2;
    const hms = clock(line, i);
    if (!hms) return null;
    const frac = fraction(line, i + 8);
    if (line.charCodeAt(frac.end) !== 32) return null;
    const key = mo * 10_000 + d * 100 + hms[0];
    if (key !== this.hourKey) {
      const year = inferYear(mo, d, hms[0], hms[1], hms[2], frac.ms, this.now());
      this.hourKey = key;
      this.hourBase = toEpoch(year, mo, d, hms[0], 0, 0, 0);
    }
    return { ts: this.hourBase + hms[1] * 60_000 + hms[2] * 1000 + frac.ms, end: frac.end + 1 };
  }

  private rfc3339(line: string): { ts: number; end: number } | null {
    if (line.charCodeAt(10) !== 84 /* T */) return null;
    const date = isoDate(line);
    const hms = date && clock(line, 11);
    if (!date || !hms) return null;
    const frac = fraction(line, 19);
    const zone = zoneOffset(line, frac.end);
    const end = zone ? zone.end : frac.end;
    if (line.charCodeAt(end) !== 32) return null;
    const ts = toEpoch(date[0], date[1], date[2], hms[0], hms[1], hms[2], frac.ms, zone?.minutes);
    return { ts, end: end + 1 };
  }
}

/** "host tag[pid]: message" from index i on; the host may be absent or (redacted) contain spaces. */
export function readHostAndTag(line: string, i: number, ts: number): LogRecord | null {
  while (line.charCodeAt(i) === 32) i++;
  let colon = line.indexOf(": ", i);
  if (colon === -1) {
    if (line.charCodeAt(line.length - 1) !== 58) return null;
    colon = line.length - 1; // "tag:" with an empty message
  }
  let host = "";
  let tagStart = i;
  const lastSpace = line.lastIndexOf(" ", colon - 1);
  if (lastSpace >= i) {
    host = line.slice(i, lastSpace);
    tagStart = lastSpace + 1;
  }
  if (tagStart >= colon) return null;
  const { name, pid } = splitTag(line.slice(tagStart, colon));
  const { program, instance } = programOf(name);
  const message = colon + 2 <= line.length ? line.slice(colon + 2) : "";
  return pid === undefined ? { ts, host, program, instance, message } : { ts, host, program, instance, pid, message };
}
