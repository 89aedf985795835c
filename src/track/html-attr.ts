import { LEGACY_REFERENCES, NAMED_REFERENCES } from "./html-entities.ts";

// Attribute values as the HTML parser reads them. Bun's HTMLRewriter (lol-html) hands
// attribute values over raw — `getAttribute("href")` of `href="?a=1&amp;b=2"` is
// "?a=1&amp;b=2" — and `setAttribute` writes its value raw too, escaping only `"`. So the
// character references are ours to decode (exactly as a browser does, per the WHATWG
// tokenizer's rules for attribute values) and to encode.

let named: Map<string, string> | null = null;
let legacy: Set<string> | null = null;

function tables(): [Map<string, string>, Set<string>] {
  if (!named || !legacy) {
    named = new Map();
    for (const entry of NAMED_REFERENCES.split(" ")) {
      const [name, cps] = entry.split("=") as [string, string];
      named.set(name, String.fromCodePoint(...cps.split("+").map((h) => parseInt(h, 16))));
    }
    legacy = new Set(LEGACY_REFERENCES.split(" "));
  }
  return [named, legacy];
}

const LONGEST_NAME = 32;

// Numeric references to C1 controls mean the windows-1252 character (WHATWG, "numeric
// character reference end state").
const C1: Record<number, number> = {
  0x80: 0x20ac,
  0x82: 0x201a,
  0x83: 0x0192,
  0x84: 0x201e,
  0x85: 0x2026,
  0x86: 0x2020,
  0x87: 0x2021,
  0x88: 0x02c6,
  0x89: 0x2030,
  0x8a: 0x0160,
  0x8b: 0x2039,
  0x8c: 0x0152,
  0x8e: 0x017d,
  0x91: 0x2018,
  0x92: 0x2019,
  0x93: 0x201c,
  0x94: 0x201d,
  0x95: 0x2022,
  0x96: 0x2013,
  0x97: 0x2014,
  0x98: 0x02dc,
  0x99: 0x2122,
  0x9a: 0x0161,
  0x9b: 0x203a,
  0x9c: 0x0153,
  0x9e: 0x017e,
  0x9f: 0x0178,
};

/** The value a browser sees for a raw attribute value: character references decoded. */
export function decodeAttribute(raw: string): string {
  let amp = raw.indexOf("&");
  if (amp < 0) return raw;
  let out = "";
  let from = 0;
  while (amp >= 0) {
    const [text, next] = reference(raw, amp);
    out += raw.slice(from, amp) + text;
    from = next;
    amp = raw.indexOf("&", next);
  }
  return out + raw.slice(from);
}

/** A value written into a double-quoted attribute; `<` and `>` too, so no `-->` can appear. */
export function escapeAttribute(value: string): string {
  if (!/[&"<>]/.test(value)) return value; // tracked links never need it: base64url tokens
  return value.replace(/[&"<>]/g, (c) => (c === "&" ? "&amp;" : c === '"' ? "&quot;" : c === "<" ? "&lt;" : "&gt;"));
}

const isAlnum = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isDigit = (c: number) => c >= 48 && c <= 57;
const isHex = (c: number) => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

/** The text of the reference starting at `s[at]` (an "&") and the index after it. */
function reference(s: string, at: number): [string, number] {
  const c = s.charCodeAt(at + 1);
  if (c === 97 /* a */ && s.startsWith("amp;", at + 1)) return ["&", at + 5]; // nearly every one in a URL
  if (c === 35 /* # */) return numeric(s, at);
  if (!isAlnum(c)) return ["&", at + 1];
  let end = at + 1;
  while (end < s.length && isAlnum(s.charCodeAt(end))) end++;
  const [table, bare] = tables();
  const run = s.slice(at + 1, end);
  if (run.length <= LONGEST_NAME && s.charCodeAt(end) === 59 /* ; */) {
    const v = table.get(run);
    if (v !== undefined) return [v, end + 1];
  }
  // A legacy name may match without its ';' — the longest prefix of the run that is one. In an
  // attribute, one followed by '=' or an alphanumeric stays as written ("?a=1&copy=2").
  for (let k = Math.min(run.length, LONGEST_NAME); k >= 2; k--) {
    const name = run.slice(0, k);
    if (!bare.has(name)) continue;
    const after = s.charCodeAt(at + 1 + k);
    if (after === 61 /* = */ || isAlnum(after)) return [s.slice(at, at + 1 + k), at + 1 + k];
    return [table.get(name)!, at + 1 + k];
  }
  return ["&", at + 1];
}

function numeric(s: string, at: number): [string, number] {
  let i = at + 2;
  const hex = s.charCodeAt(i) === 120 || s.charCodeAt(i) === 88; /* x X */
  if (hex) i++;
  const start = i;
  let cp = 0;
  while (i < s.length && (hex ? isHex(s.charCodeAt(i)) : isDigit(s.charCodeAt(i)))) {
    cp = Math.min(cp * (hex ? 16 : 10) + parseInt(s[i]!, 16), 0x110000);
    i++;
  }
  if (i === start) return [s.slice(at, start), start]; // "&#" or "&#x" without digits: as written
  if (s.charCodeAt(i) === 59) i++;
  if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return ["\uFFFD", i];
  return [String.fromCodePoint(C1[cp] ?? cp), i];
}
