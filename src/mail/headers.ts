// A message's header block as a list of fields, and the edits that change it as the milter
// would (pure). Fields keep their bytes: `raw` is the field exactly as it stood, folds and
// line end included, so a block rebuilt from the fields is byte for byte the one parsed.

export type HeaderField = {
  /** The field name as written (case kept). */
  name: string;
  /** Everything after the colon, folds kept ("\r\n " or "\n "), without the final line end. */
  value: string;
  /** The field's bytes: name, colon, value, folds and the final line end. */
  raw: Buffer;
};

/** A header change in the milter's terms; `index` counts (from 1) the fields of that name. */
export type MailHeaderEdit =
  | { op: "add"; name: string; value: string }
  | { op: "insert"; index: number; name: string; value: string }
  | { op: "change"; name: string; index: number; value: string }
  | { op: "delete"; name: string; index: number };

const LF = 0x0a;

/** How fields are matched by name: any case, spaces before the colon (obsolete syntax) ignored. */
export const fieldKey = (name: string): string => name.trim().toLowerCase();

/** Where the header block ends: the index just after its empty line; -1 when there is none. */
function headerEnd(raw: Uint8Array): number {
  if (raw[0] === LF) return 1;
  if (raw[0] === 0x0d && raw[1] === LF) return 2;
  for (let i = raw.indexOf(LF); i >= 0 && i + 1 < raw.length; i = raw.indexOf(LF, i + 1)) {
    if (raw[i + 1] === LF) return i + 2;
    if (raw[i + 1] === 0x0d && raw[i + 2] === LF) return i + 3;
  }
  return -1;
}

/** A whole message → its header block (empty line included) and body; null without an empty line. */
export function splitMessage(raw: Uint8Array): { header: Buffer; body: Buffer } | null {
  const end = headerEnd(raw);
  if (end < 0) return null;
  const b = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  return { header: b.subarray(0, end), body: b.subarray(end) };
}

/**
 * The fields of a header block, in order. A line that starts with a space or tab continues
 * the field before it; the empty line (and anything after it) ends the block. A line with
 * no colon is kept as a field whose name is the whole line and whose value is "", so that
 * no byte is lost.
 */
export function parseHeaderBlock(block: Uint8Array): HeaderField[] {
  const b = Buffer.from(block.buffer, block.byteOffset, block.byteLength);
  const fields: HeaderField[] = [];
  let start = -1;
  let pos = 0;
  const close = (end: number) => {
    if (start < 0) return;
    const raw = b.subarray(start, end);
    const text = raw.toString("utf8").replace(/\r?\n$/, "");
    const colon = text.indexOf(":");
    fields.push(colon < 0 ? { name: text, value: "", raw } : { name: text.slice(0, colon), value: text.slice(colon + 1), raw });
    start = -1;
  };
  while (pos < b.length) {
    const nl = b.indexOf(LF, pos);
    const next = nl < 0 ? b.length : nl + 1;
    const lineLen = (nl < 0 ? b.length : nl) - pos;
    if (lineLen === 0 || (lineLen === 1 && b[pos] === 0x0d)) break; // the empty line
    const first = b[pos];
    if ((first === 0x20 || first === 0x09) && start >= 0) {
      pos = next;
      continue;
    }
    close(pos);
    start = pos;
    pos = next;
  }
  close(pos);
  return fields;
}

/** Folded value → one line ("\r\n " → " "), as RFC 5322 unfolding says. */
export function unfold(value: string): string {
  return value.replace(/\r?\n(?=[ \t])/g, "");
}

/** Every value of the fields named `name` (any case), unfolded and trimmed, in order. */
export function headerValues(fields: readonly HeaderField[], name: string): string[] {
  const key = fieldKey(name);
  return fields.filter((f) => fieldKey(f.name) === key).map((f) => unfold(f.value).trim());
}

/** The first value of `name`, unfolded and trimmed; undefined when absent. */
export function firstHeader(fields: readonly HeaderField[], name: string): string | undefined {
  return headerValues(fields, name)[0];
}

/** Message-ID without angle brackets or comments; null when absent or empty. */
export function messageId(fields: readonly HeaderField[]): string | null {
  const v = firstHeader(fields, "Message-ID");
  if (!v) return null;
  const m = /<([^<>\s]+)>/.exec(v);
  const id = m ? m[1]! : v.replace(/\s+/g, "");
  return id.length > 0 && id.length <= 998 ? id : null;
}

/**
 * Milter delete ops that remove every field named in `names` (any case). Indexes count
 * fields of the same name as the milter does; the milter sends deletes highest first, so
 * each index still points at the field it was computed for.
 */
export function deleteOps(fields: readonly HeaderField[], names: readonly string[]): MailHeaderEdit[] {
  const wanted = new Set(names.map(fieldKey));
  const seen = new Map<string, number>();
  const ops: MailHeaderEdit[] = [];
  for (const f of fields) {
    const key = fieldKey(f.name);
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    if (wanted.has(key)) ops.push({ op: "delete", name: f.name.trim(), index: n });
  }
  return ops;
}
