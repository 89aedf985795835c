import { isAlnum } from "./fields.ts";

// Postfix queue ids, on their own so both the queue-line parser and the delivery-status parser
// (which checks "queued as" and "forwarded as" ids) can use them without importing each other.

/** True for Postfix's short (hex) and long ("4HnkK60lBRz6tl1", "z" + inode) queue ids. */
export function isQueueId(s: string): boolean {
  return isQueueIdAt(s, 0, s.length);
}

/** isQueueId of s[start, end), without cutting it out. */
export function isQueueIdAt(s: string, start: number, end: number): boolean {
  const n = end - start;
  if (n < 5 || n > 32) return false;
  let hex = true;
  let z = -1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(start + i);
    if (!isAlnum(c)) return false;
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 70))) hex = false;
    if (c === 122 && z === -1) z = i;
  }
  return hex || (n >= 12 && z >= 10 && z < n - 1);
}
