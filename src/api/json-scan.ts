// JSON judged on its bytes, before anything parses it: how deep it nests (JSON.parse of tens
// of thousands of nested arrays throws a RangeError, or exhausts the stack of whatever walks
// the result next, and nothing hookd stores needs more than a few levels), and where the
// elements of a top-level array lie, so a large array can be parsed one element at a time.

export const MAX_JSON_DEPTH = 32;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;
const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/** The end of the string whose opening quote is at `i - 1`: the index of its closing quote (or the length). */
function stringEnd(bytes: Uint8Array, i: number): number {
  const n = bytes.length;
  for (; i < n; i++) {
    const s = bytes[i]!;
    if (s === BACKSLASH) i++;
    else if (s === QUOTE) return i;
  }
  return n;
}

// Only the first levels of the path are named in an error: enough to find the field.
const NAMED_LEVELS = 4;

type Frame = { array: boolean; index: number; keyStart: number; keyEnd: number; expectKey: boolean };

function pathOf(bytes: Uint8Array, frames: readonly Frame[]): string {
  let out = "";
  for (const f of frames.slice(0, NAMED_LEVELS)) {
    if (f.array) out += `[${f.index}]`;
    else if (f.keyEnd > f.keyStart) {
      let key: string;
      try {
        key = JSON.parse(new TextDecoder().decode(bytes.subarray(f.keyStart - 1, f.keyEnd + 1))) as string;
      } catch {
        key = "?";
      }
      out += out ? `.${key}` : key;
    }
  }
  return out;
}

/**
 * The path (`[3].data.a`) of the first value nested deeper than `max` levels, or null when
 * none is. Malformed JSON is not judged here (JSON.parse reports it); strings are skipped
 * with their escapes, so brackets inside them do not count.
 */
export function tooDeep(bytes: Uint8Array, max = MAX_JSON_DEPTH): string | null {
  const frames: Frame[] = [];
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b === QUOTE) {
      const start = i + 1;
      i = stringEnd(bytes, start);
      const top = frames[frames.length - 1];
      if (top && !top.array && top.expectKey) {
        top.keyStart = start;
        top.keyEnd = i;
        top.expectKey = false;
      }
    } else if (b === OPEN_ARRAY || b === OPEN_OBJECT) {
      if (frames.length >= max) return pathOf(bytes, frames) || "body";
      frames.push({ array: b === OPEN_ARRAY, index: 0, keyStart: 0, keyEnd: 0, expectKey: b === OPEN_OBJECT });
    } else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) {
      frames.pop();
    } else if (b === COMMA) {
      const top = frames[frames.length - 1];
      if (top?.array) top.index++;
      else if (top) top.expectKey = true;
    }
  }
  return null;
}

/** A top-level array's elements as byte ranges; "other" when the text is not an array; "malformed" when its brackets do not close. */
export type ArraySplit = { kind: "array"; elements: { start: number; end: number }[] } | { kind: "other" } | { kind: "malformed" };

/**
 * Where each element of a top-level JSON array lies (its bytes, whitespace included). Each
 * element's own syntax is left to JSON.parse of its slice; what lies between them is judged
 * here: commas at the top level, one closing bracket, nothing but whitespace after it.
 */
export function arrayElements(bytes: Uint8Array): ArraySplit {
  const n = bytes.length;
  let i = 0;
  while (i < n && isSpace(bytes[i]!)) i++;
  if (bytes[i] !== OPEN_ARRAY) return { kind: "other" };
  const elements: { start: number; end: number }[] = [];
  let depth = 1;
  let start = i + 1;
  for (i = start; i < n; i++) {
    const b = bytes[i]!;
    if (b === QUOTE) i = stringEnd(bytes, i + 1);
    else if (b === OPEN_ARRAY || b === OPEN_OBJECT) depth++;
    else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) {
      depth--;
      if (depth === 0) break;
    } else if (b === COMMA && depth === 1) {
      elements.push({ start, end: i });
      start = i + 1;
    }
  }
  if (depth !== 0 || bytes[i] !== CLOSE_ARRAY) return { kind: "malformed" };
  for (let j = i + 1; j < n; j++) if (!isSpace(bytes[j]!)) return { kind: "malformed" };
  let blank = true;
  for (let j = start; j < i && blank; j++) blank = isSpace(bytes[j]!);
  // "[]" and "[ ]" have no element; "[1,]" has an empty last one, which JSON.parse refuses.
  if (!(blank && elements.length === 0)) elements.push({ start, end: i });
  return { kind: "array", elements };
}
