/**
 * Calls `each` with every line of text: split at "\n", a "\r" before it dropped. A last line
 * without "\n" is passed as it is; nothing follows a final "\n". indexOf and slice: several
 * times faster than a regex split or node:readline on a big block.
 */
export function splitLines(text: string, each: (line: string) => void): void {
  let start = 0;
  for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
    each(text.slice(start, nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl));
    start = nl + 1;
  }
  if (start < text.length) each(text.slice(start));
}
