import type { LogRecord } from "../record.ts";
import { clock, fraction, isoDate, toEpoch, zoneOffset } from "./time.ts";

/**
 * Exim's main log: "2026-11-23 13:07:09[.123][ +0100][ [pid]] rest". The fraction comes with
 * log_selector +millisec, the offset with log_timezone, "[pid]" with +pid. Without an offset
 * the time is the host's local time. Returns null when the line does not start that way.
 */
export function readEximStamp(s: string): { ts: number; pid?: number; rest: string } | null {
  if (s.charCodeAt(10) !== 32) return null;
  const date = isoDate(s);
  const hms = date && clock(s, 11);
  if (!date || !hms) return null;
  const frac = fraction(s, 19);
  let i = frac.end;
  if (s.charCodeAt(i) !== 32) return null;
  i++;
  let offset: number | undefined;
  const c = s.charCodeAt(i);
  if (c === 43 || c === 45) {
    const zone = zoneOffset(s, i);
    if (zone && s.charCodeAt(zone.end) === 32) {
      offset = zone.minutes;
      i = zone.end + 1;
    }
  }
  let pid: number | undefined;
  if (s.charCodeAt(i) === 91 /* [ */) {
    const close = s.indexOf("] ", i);
    const n = close === -1 ? NaN : Number(s.slice(i + 1, close));
    if (Number.isInteger(n)) {
      pid = n;
      i = close + 2;
    }
  }
  const ts = toEpoch(date[0], date[1], date[2], hms[0], hms[1], hms[2], frac.ms, offset);
  return pid === undefined ? { ts, rest: s.slice(i) } : { ts, pid, rest: s.slice(i) };
}

/** A line of Exim's own main log file: no host and no program in it. */
export function readEximLine(line: string): LogRecord | null {
  const stamp = readEximStamp(line);
  if (!stamp) return null;
  const rec: LogRecord = { ts: stamp.ts, host: "", program: "exim", instance: "", message: stamp.rest };
  if (stamp.pid !== undefined) rec.pid = stamp.pid;
  return rec;
}

/**
 * Exim logging through syslog keeps its own timestamp inside the message unless
 * syslog_timestamp is false. Prefer it: unlike the syslog one it has a year and milliseconds.
 */
export function unwrapEximSyslog(rec: LogRecord): LogRecord {
  const c = rec.message.charCodeAt(0);
  if (c < 48 || c > 57) return rec;
  const stamp = readEximStamp(rec.message);
  if (!stamp) return rec;
  return { ...rec, ts: stamp.ts, message: stamp.rest, ...(stamp.pid === undefined ? {} : { pid: stamp.pid }) };
}

export function isEximProgram(program: string): boolean {
  return program.startsWith("exim");
}
