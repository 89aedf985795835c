import { isAlnum } from "./fields.ts";

/**
 * Exim's message id: 6-6-2 base-62 before 4.97 ("1PLKOW-00046U-EW"), 6-11-4 since
 * ("10HmaX-000000005vi-0000").
 */
export function isEximId(s: string): boolean {
  const n = s.length;
  if (n !== 16 && n !== 23) return false;
  const d2 = n === 16 ? 13 : 18;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (i === 6 || i === d2) {
      if (c !== 45) return false;
    } else if (!isAlnum(c)) return false;
  }
  return true;
}

export interface EximScan {
  /** Tokens that are not KEY=value fields, in order ("userx", "<userx@test.ex>", "defer", "(-44)"). */
  words: string[];
  fields: Record<string, string>;
  /** Addresses after a bare "for" (log_selector +received_recipients). */
  forList?: string[];
}

/**
 * Splits the part of an Exim line after the flag into words and KEY=value fields. Values may
 * be quoted (C="250 OK", with backslash escapes) or bracketed (F=<a b@c>); H= and I= continue
 * over "(helo)" and "[ip]:port" words, as in "H=mx.example (helo) [192.0.2.1]:25".
 */
export function scanExim(s: string, start = 0): EximScan {
  const out: EximScan = { words: [], fields: {} };
  let i = start;
  const n = s.length;
  while (i < n) {
    while (i < n && s.charCodeAt(i) === 32) i++;
    if (i >= n) break;
    const eq = fieldKeyEnd(s, i);
    if (eq !== -1) {
      const key = s.slice(i, eq);
      let end = valueEnd(s, eq + 1);
      let value = unquote(s.slice(eq + 1, end));
      if (key === "H" || key === "I") {
        while (end < n && s.charCodeAt(end) === 32 && (s.charCodeAt(end + 1) === 40 || s.charCodeAt(end + 1) === 91)) {
          const wEnd = valueEnd(s, end + 1);
          value += s.slice(end, wEnd);
          end = wEnd;
        }
      }
      out.fields[key] = value;
      i = end;
      continue;
    }
    const end = valueEnd(s, i);
    const word = s.slice(i, end);
    if (word === "for" && out.words.length > 0) {
      out.forList = s.slice(end).trim().split(/\s+/).filter(Boolean);
      break;
    }
    out.words.push(word);
    i = end;
  }
  return out;
}

/** Index of "=" when s[i..] starts with a field key (letters/digits, starting with a letter). */
function fieldKeyEnd(s: string, i: number): number {
  const c0 = s.charCodeAt(i);
  if (!((c0 >= 65 && c0 <= 90) || (c0 >= 97 && c0 <= 122))) return -1;
  for (let j = i + 1; j < i + 12 && j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 61) return j;
    if (!isAlnum(c)) return -1;
  }
  return -1;
}

/** End of one value starting at i: a quoted string, a <...> or (...) group, or up to a space. */
function valueEnd(s: string, i: number): number {
  const c = s.charCodeAt(i);
  const n = s.length;
  if (c === 34 /* " */) {
    let j = i + 1;
    while (j < n) {
      const d = s.charCodeAt(j);
      if (d === 92) j += 2;
      else if (d === 34) return j + 1;
      else j++;
    }
    return n;
  }
  const close = c === 60 ? 62 : c === 40 ? 41 : c === 91 ? 93 : 0;
  if (close) {
    // The group ends at its closer followed by a space (or the end); what follows up to the
    // next space stays attached ("[127.0.0.1]:25", "[127.0.0.1]*").
    let j = s.indexOf(String.fromCharCode(close), i + 1);
    while (j !== -1 && j + 1 < n && s.charCodeAt(j + 1) !== 32 && s.charCodeAt(j + 1) !== 58 && s.charCodeAt(j + 1) !== 42) {
      j = s.indexOf(String.fromCharCode(close), j + 1);
    }
    if (j !== -1) {
      const sp = s.indexOf(" ", j);
      return sp === -1 ? n : sp;
    }
  }
  const sp = s.indexOf(" ", i);
  return sp === -1 ? n : sp;
}

function unquote(v: string): string {
  if (v.length < 2 || v.charCodeAt(0) !== 34 || v.charCodeAt(v.length - 1) !== 34) return v;
  return v.slice(1, -1).replace(/\\(.)/g, (_m, ch: string) => (ch === "n" ? "\n" : ch));
}

/** Exim's time format in QT=/DT=: "1d2h3m4s", "2s", "0.123s". */
export function eximDuration(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const re = /(\d+(?:\.\d+)?)([wdhms])/g;
  const unit: Record<string, number> = { w: 604800, d: 86400, h: 3600, m: 60, s: 1 };
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * (unit[m[2] ?? "s"] ?? 1);
    matched += m[0].length;
  }
  return matched === s.length && matched > 0 ? total : undefined;
}
