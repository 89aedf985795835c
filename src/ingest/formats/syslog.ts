import { type LogRecord, programOf } from "../record.ts";
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
  // Consecutive lines mostly share their second: the last stamp (with its trailing space)
  // and its time let them skip the parse. Only the last one is kept, so a repeated stamp
  // always follows a line of the same hour, whose year the parse would have reused too.
  private lastStamp = "";
  private lastTs = 0;
  private readonly tags = new TagCache();
  private lastHost = "";

  constructor(private readonly now: () => number) {}

  read(line: string): LogRecord | null {
    let end: number;
    let ts: number;
    if (this.lastStamp !== "" && line.startsWith(this.lastStamp)) {
      end = this.lastStamp.length;
      ts = this.lastTs;
    } else {
      const c0 = line.charCodeAt(0);
      const stamp = c0 >= 48 && c0 <= 57 ? this.rfc3339(line) : this.traditional(line);
      if (!stamp) return null;
      end = stamp.end;
      ts = stamp.ts;
      this.lastStamp = line.slice(0, end);
      this.lastTs = ts;
    }
    return this.hostAndTag(line, end, ts);
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

  /**
   * "host tag[pid]: message" from index i on; the host may be absent or (redacted) contain
   * spaces. The last host string and the tags seen are reused rather than cut anew.
   */
  private hostAndTag(line: string, i: number, ts: number): LogRecord | null {
    const at = locateHostAndTag(line, i);
    if (!at) return null;
    let host = "";
    if (at.tagStart > at.hostStart) {
      const len = at.tagStart - 1 - at.hostStart;
      host =
        len === this.lastHost.length && line.startsWith(this.lastHost, at.hostStart)
          ? this.lastHost
          : (this.lastHost = line.slice(at.hostStart, at.tagStart - 1));
    }
    return buildRecord(line, at, ts, host, this.tags.lookup(line, at.tagStart, at.nameEnd));
  }
}

/** Offsets of a syslog line's parts after its timestamp; the strings are cut only once needed. */
interface HostAndTag {
  hostStart: number;
  /** Start of the tag; the host runs from hostStart to the space before it (none when equal). */
  tagStart: number;
  /** End of the tag's name: its "[" or, without a well-formed "[pid]", the colon. */
  nameEnd: number;
  /** The pid in "[pid]", -1 when there is none. */
  pid: number;
  /** Where the message starts (the line's length when it is empty). */
  msgStart: number;
}

function locateHostAndTag(line: string, i: number): HostAndTag | null {
  while (line.charCodeAt(i) === 32) i++;
  let colon = line.indexOf(": ", i);
  if (colon === -1) {
    if (line.charCodeAt(line.length - 1) !== 58) return null;
    colon = line.length - 1; // "tag:" with an empty message
  }
  const lastSpace = line.lastIndexOf(" ", colon - 1);
  const tagStart = lastSpace >= i ? lastSpace + 1 : i;
  if (tagStart >= colon) return null;
  const { nameEnd, pid } = splitTagAt(line, tagStart, colon);
  return { hostStart: i, tagStart, nameEnd, pid, msgStart: Math.min(colon + 2, line.length) };
}

/** The tag "name[pid]" or "name" at line[start, end): where the name ends, and the pid (-1: none). */
function splitTagAt(line: string, start: number, end: number): { nameEnd: number; pid: number } {
  const open = line.indexOf("[", start);
  if (open === -1 || open >= end || line.charCodeAt(end - 1) !== 93 /* ] */) return { nameEnd: end, pid: -1 };
  let pid = 0;
  for (let k = open + 1; k < end - 1; k++) {
    const c = line.charCodeAt(k) - 48;
    if (c < 0 || c > 9) return { nameEnd: open, pid: -1 };
    pid = pid * 10 + c;
  }
  return { nameEnd: open, pid };
}

function buildRecord(line: string, at: HostAndTag, ts: number, host: string, p: { program: string; instance: string }): LogRecord {
  const message = line.slice(at.msgStart);
  const { program, instance } = p;
  return at.pid === -1 ? { ts, host, program, instance, message } : { ts, host, program, instance, pid: at.pid, message };
}

/**
 * The program and instance of the tag names seen so far, found by comparing the name in place:
 * a log has a handful of them, and cutting and hashing each line's name was measurable.
 */
class TagCache {
  private readonly names: string[] = [];
  private readonly parts: { program: string; instance: string }[] = [];
  private next = 0;

  lookup(line: string, start: number, end: number): { program: string; instance: string } {
    const len = end - start;
    const names = this.names;
    for (let k = 0; k < names.length; k++) {
      const name = names[k] as string;
      if (name.length === len && line.startsWith(name, start)) return this.parts[k] as { program: string; instance: string };
    }
    const name = line.slice(start, end);
    const p = programOf(name);
    // Bounded: a log with many distinct tags (or garbage) recycles the slots in turn.
    const slot = names.length < TAG_SLOTS ? names.length : this.next++ % TAG_SLOTS;
    names[slot] = name;
    this.parts[slot] = p;
    return p;
  }
}

const TAG_SLOTS = 16;
