// Milter header edits carried out on a header block's bytes (pure), with the semantics the
// milter's MTA gives them, so that a path without a milter (`hookd rewrite` for Exim) and the
// tests produce the same message the MTA would: changes and deletes address the index-th
// field of a name as the block stood before any edit; adds go last; inserts go before the
// index-th field of the block (0 = first). Untouched fields keep their bytes.
import { fieldKey, parseHeaderBlock, type MailHeaderEdit } from "./headers.ts";

/** The block's line end: that of its last line (the empty one), else of its first; CRLF
 *  when it has none. */
export function lineEnding(block: Uint8Array): "\r\n" | "\n" {
  const n = block.length;
  if (n > 0 && block[n - 1] === 0x0a) return n > 1 && block[n - 2] === 0x0d ? "\r\n" : "\n";
  const nl = Buffer.from(block.buffer, block.byteOffset, block.byteLength).indexOf(0x0a);
  return nl <= 0 || block[nl - 1] === 0x0d ? "\r\n" : "\n";
}

/** "Name: value" + eol, the value's folds written with `eol`. */
export function formatField(name: string, value: string, eol: string): Buffer {
  const v = value.replace(/\r?\n(?=[ \t])/g, eol);
  return Buffer.from(`${name}: ${v.replace(/^[ \t]+/, "")}${eol}`, "utf8");
}

/** The block with `edits` applied; the empty line that ends it is kept as it was. */
export function applyHeaderEdits(block: Uint8Array, edits: readonly MailHeaderEdit[]): Buffer {
  const eol = lineEnding(block);
  const fields = parseHeaderBlock(block);
  // Each original field: its bytes (null once deleted), plus what inserts put before it.
  const slots = fields.map((f) => ({ key: fieldKey(f.name), raw: f.raw as Buffer | null, before: [] as Buffer[] }));
  const appended: Buffer[] = [];
  const nth = (name: string, index: number) => {
    const key = fieldKey(name);
    let n = 0;
    for (const s of slots) if (s.key === key && ++n === index) return s;
    return undefined;
  };
  for (const e of edits) {
    if (e.op === "change" || e.op === "delete") {
      const slot = nth(e.name, e.index);
      if (e.op === "delete") {
        if (slot) slot.raw = null;
      } else if (slot) slot.raw = formatField(e.name, e.value, eol);
      else appended.push(formatField(e.name, e.value, eol)); // as the MTA does: a change past the last is an add
    } else if (e.op === "add") appended.push(formatField(e.name, e.value, eol));
    else {
      const at = slots[e.index];
      if (at) at.before.push(formatField(e.name, e.value, eol));
      else appended.push(formatField(e.name, e.value, eol));
    }
  }
  const parts: Buffer[] = [];
  for (const s of slots) {
    parts.push(...s.before);
    if (s.raw) parts.push(s.raw);
  }
  // the empty line (and anything after it) as it was
  const consumed = fields.reduce((n, f) => n + f.raw.length, 0);
  const rest = Buffer.from(block.buffer, block.byteOffset + consumed, block.byteLength - consumed);
  parts.push(...appended, rest.length > 0 ? rest : Buffer.from(eol));
  return Buffer.concat(parts);
}
