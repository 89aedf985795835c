// Header-style fields as reports carry them: the groups of a message/delivery-status part
// (RFC 3464: one per-message group, then one group per recipient, blank lines between), the
// one group of a message/feedback-report part, and returned header blocks. The input is
// whatever a remote MTA wrote, so every loop is bounded and nothing here throws.

export interface Field {
  /** Lower-cased field name. */
  name: string;
  /** Unfolded value, trimmed, cut to MAX_VALUE. */
  value: string;
}

const MAX_VALUE = 4096;
const MAX_FIELDS = 500;
const MAX_GROUPS = 1000;
const FIELD_NAME = /^([!-9;-~]+)[ \t]*:(.*)$/;

/** The lines of a text, whichever line ending it uses (CRLF, LF or a bare CR). */
export function lines(text: string): string[] {
  return text.split(/\r\n|\n|\r/);
}

/**
 * The groups of fields of a text, split at blank lines. A line that starts with a space or tab,
 * or is no "Name: value" line, continues the field before it (or is skipped when none is open).
 */
export function fieldGroups(text: string): Field[][] {
  const groups: Field[][] = [];
  let group: Field[] = [];
  let last: Field | undefined;
  let fields = 0;
  for (const line of lines(text)) {
    if (line.trim() === "") {
      if (group.length > 0) groups.push(group);
      if (groups.length >= MAX_GROUPS) return groups;
      group = [];
      last = undefined;
      continue;
    }
    const c = line.charCodeAt(0);
    if ((c === 32 || c === 9) && last) {
      if (last.value.length < MAX_VALUE) last.value = cut(`${last.value} ${line.trim()}`, MAX_VALUE);
      continue;
    }
    const m = FIELD_NAME.exec(line);
    if (!m) {
      // MTAs, and copies of returned messages, that lost the folding whitespace are common:
      // "Received: from x" then "by mx.example.org … id QID" on a line of its own.
      if (last && last.value.length < MAX_VALUE) last.value = cut(`${last.value} ${line.trim()}`, MAX_VALUE);
      continue;
    }
    if (++fields > MAX_FIELDS * MAX_GROUPS) break;
    last = { name: m[1]!.toLowerCase(), value: cut(m[2]!.trim(), MAX_VALUE) };
    if (group.length < MAX_FIELDS) group.push(last);
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/** The fields of a header block (everything up to its first blank line). */
export function headerFields(text: string): Field[] {
  return fieldGroups(headerBlock(text))[0] ?? [];
}

/** The header section of a message text: up to the first blank line, at most `max` characters. */
export function headerBlock(text: string, max = 65536): string {
  const head = (text.length > max ? text.slice(0, max) : text).replace(/\r\n?/g, "\n").replace(/^(?:[ \t]*\n)+/, "");
  const end = /\n[ \t]*\n/.exec(head);
  return end ? head.slice(0, end.index) : head;
}

export function first(fields: readonly Field[], name: string): string | undefined {
  for (const f of fields) if (f.name === name && f.value !== "") return f.value;
  return undefined;
}

export function all(fields: readonly Field[], name: string): string[] {
  const out: string[] = [];
  for (const f of fields) if (f.name === name && f.value !== "") out.push(f.value);
  return out;
}

/** `type; value` as RFC 3464 writes addresses, MTAs and diagnostics ("rfc822; a@b", "smtp; 550 …"). */
export function typedValue(v: string): { type?: string; value: string } {
  const semi = v.indexOf(";");
  if (semi > 0 && semi < 32 && /^[A-Za-z0-9.+-]+$/.test(v.slice(0, semi).trim())) {
    return { type: v.slice(0, semi).trim().toLowerCase(), value: v.slice(semi + 1).trim() };
  }
  return { value: v.trim() };
}

const EMAIL = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+$/;

/**
 * The email address in a value: "rfc822; <a@b>", "A <a@b>", "a@b (comment)", "\"a@b\"".
 * Undefined when there is none that looks like one.
 */
export function emailIn(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const raw = typedValue(v).value;
  const angled = /<([^<>\s]+@[^<>\s]+)>/.exec(raw);
  const candidate = (
    angled
      ? angled[1]!
      : (raw
          .replace(/\([^)]*\)/g, " ")
          .replace(/["']/g, " ")
          .trim()
          .split(/\s+/)[0] ?? "")
  ).replace(/[.,;:]+$/, "");
  const addr = candidate.startsWith("mailto:") ? candidate.slice(7) : candidate;
  return addr.length >= 3 && addr.length <= 320 && EMAIL.test(addr) ? addr : undefined;
}

/** Every address in a list value ("a@b, C <c@d>"), at most `max`. */
export function emailsIn(v: string | undefined, max = 50): string[] {
  if (!v) return [];
  const out: string[] = [];
  for (const part of v.split(",")) {
    const a = emailIn(part);
    if (a && !out.includes(a)) out.push(a);
    if (out.length >= max) break;
  }
  return out;
}

const STATUS = /(?:^|[^\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)/;

/** The enhanced status code in a Status value ("5.0.0 (permanent failure)" → "5.0.0"). */
export function statusCode(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const m = STATUS.exec(v);
  return m ? `${m[1]}.${m[2]}.${m[3]}` : undefined;
}

/** A report date as RFC 3339 UTC, or undefined when it does not read as a date of this era. */
export function isoDate(v: string | undefined): string | undefined {
  if (!v || v.length > 200) return undefined;
  const ms = Date.parse(v.replace(/\([^)]*\)/g, " ").trim());
  // 1980..2200: anything else is a broken clock or a misread value, not a time to put on an event.
  if (!Number.isFinite(ms) || ms < 315532800000 || ms > 7258118400000) return undefined;
  return new Date(ms).toISOString();
}

/** A Message-ID without angle brackets or whitespace; undefined when nothing is left. */
export function messageIdOf(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const angled = /<([^<>]+)>/.exec(v);
  const id = (angled ? angled[1]! : v).replace(/\s+/g, "");
  return id.length > 0 && id.length <= 998 ? id : undefined;
}

/**
 * The host of an MTA value: "dns; mx.example.org" → "mx.example.org". A dns name is one token,
 * with the "[address]" some MTAs write after it; trailing comments are dropped.
 */
export function mtaName(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const { type, value } = typedValue(v);
  const tokens = value.replace(/\s+/g, " ").trim().split(" ");
  const name =
    type === "dns" || type === undefined
      ? tokens[1]?.startsWith("[")
        ? `${tokens[0]} ${tokens[1]}`
        : (tokens[0] ?? "")
      : value.replace(/\s+/g, " ").trim();
  return name === "" ? undefined : cut(name, 255);
}

/** Whitespace runs folded to one space, trimmed, cut to `max` characters. */
export function collapse(s: string, max = MAX_VALUE): string {
  return cut(s.replace(/\s+/g, " ").trim(), max);
}

export function cut(s: string, max: number): string {
  return s.length > max ? s.slice(0, max) : s;
}
