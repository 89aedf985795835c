// Timestamp parsing shared by the line formats. Hand-written digit parsing rather than Date.parse:
// it is faster, and Date.parse's treatment of 6 fractional digits or "+0100" varies by engine.

const MONTHS: Record<string, number> = {};
const NAMES = [
  // English first: what syslog writes under the C locale, by far the common case.
  "jan feb mar apr may jun jul aug sep oct nov dec",
  // Localised syslog daemons exist in the wild (postfix_exporter issue #76 shows Greek).
  "ιαν φεβ μαρ απρ μαΐ ιουν ιουλ αυγ σεπ οκτ νοε δεκ",
  "jän feb mär apr mai jun jul aug sep okt nov dez",
  "janv févr mars avr mai juin juil août sept oct nov déc",
  "ene feb mar abr may jun jul ago sep oct nov dic",
];
for (const row of NAMES) {
  row.split(" ").forEach((name, i) => {
    if (!(name in MONTHS)) MONTHS[name] = i;
  });
}
MONTHS["μαϊ"] = 4;
MONTHS["μάι"] = 4;

/** Month index 0-11 of a syslog month name, or -1. Trailing dots ("janv.") are ignored. */
let lastName = "";
let lastIndex = -1;

export function monthIndex(name: string): number {
  if (name === lastName) return lastIndex;
  const key = (name.endsWith(".") ? name.slice(0, -1) : name).toLowerCase();
  lastName = name;
  lastIndex = MONTHS[key] ?? -1;
  return lastIndex;
}

/** Two or more ASCII digits at s[i..i+n) as a number, or -1. */
export function digits(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k++) {
    const c = s.charCodeAt(k) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** Parses ".123456" at s[i]; returns milliseconds and the index after the fraction. */
export function fraction(s: string, i: number): { ms: number; end: number } {
  if (s.charCodeAt(i) !== 46 /* . */) return { ms: 0, end: i };
  let end = i + 1;
  let ms = 0;
  let scale = 100;
  for (; end < s.length; end++) {
    const c = s.charCodeAt(end) - 48;
    if (c < 0 || c > 9) break;
    ms += c * scale;
    scale /= 10;
  }
  return { ms: Math.floor(ms), end };
}

/** "+01:00", "+0100", "-05", "Z" at s[i]; minutes east of UTC and the end index, or null. */
export function zoneOffset(s: string, i: number): { minutes: number; end: number } | null {
  const c = s.charCodeAt(i);
  if (c === 90 /* Z */ || c === 122 /* z */) return { minutes: 0, end: i + 1 };
  if (c !== 43 && c !== 45) return null;
  const sign = c === 43 ? 1 : -1;
  const h = digits(s, i + 1, 2);
  if (h < 0) return null;
  let j = i + 3;
  if (s.charCodeAt(j) === 58 /* : */) j++;
  const m = digits(s, j, 2);
  if (m < 0) return { minutes: sign * h * 60, end: i + 3 };
  return { minutes: sign * (h * 60 + m), end: j + 2 };
}

/** "hh:mm:ss" at s[i] as [h, m, s], or null. */
export function clock(s: string, i: number): [number, number, number] | null {
  if (s.charCodeAt(i + 2) !== 58 || s.charCodeAt(i + 5) !== 58) return null;
  const h = digits(s, i, 2);
  const m = digits(s, i + 3, 2);
  const sec = digits(s, i + 6, 2);
  if (h < 0 || m < 0 || sec < 0 || h > 23 || m > 59 || sec > 60) return null;
  return [h, m, sec];
}

/** "YYYY-MM-DD" at s[0] as [y, month0, d], or null. */
export function isoDate(s: string, i = 0): [number, number, number] | null {
  if (s.charCodeAt(i + 4) !== 45 || s.charCodeAt(i + 7) !== 45) return null;
  const y = digits(s, i, 4);
  const mo = digits(s, i + 5, 2);
  const d = digits(s, i + 8, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31) return null;
  return [y, mo - 1, d];
}

/**
 * Wall-clock fields to epoch ms: in the given offset when the line states one, else in the
 * local zone of the process (hookd runs on the mail host, whose clock wrote the log).
 */
export function toEpoch(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number, offsetMin?: number): number {
  if (offsetMin === undefined) return new Date(y, mo, d, h, mi, s, ms).getTime();
  return Date.UTC(y, mo, d, h, mi, s, ms) - offsetMin * 60_000;
}

// A line stamped up to this far ahead of "now" is clock skew, not last year's.
const FUTURE_SLACK_MS = 2 * 86_400_000;

/**
 * Traditional syslog has no year. Take the reference year, unless that puts the line in the
 * future: a "Dec 31" line read on Jan 1 (or backfilled in March) belongs to the year before.
 */
export function inferYear(mo: number, d: number, h: number, mi: number, s: number, ms: number, now: number): number {
  const year = new Date(now).getFullYear();
  const t = toEpoch(year, mo, d, h, mi, s, ms);
  return t > now + FUTURE_SLACK_MS ? year - 1 : year;
}
