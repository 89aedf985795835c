// hookd's one-click unsubscribe URL in List-Unsubscribe (RFC 2369) with
// List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058), as milter header edits. Pure.
//
// Merging with what the application sent:
// - hookd's https URL goes first (one-click clients POST to the https URI they find), then
//   hookd's mailto: address when there is one (unsubscribe+<token>@<verp domain>), then the
//   application's entries in their order — its mailto: and its own https pages stay;
// - an http URL (a test setup's base_url) is listed the same way, but one-click needs https
//   (RFC 8058 §3.1), so no List-Unsubscribe-Post is added for it;
// - when the application already offers one-click itself (an https URI and its own
//   List-Unsubscribe-Post), both headers are left exactly as they are: RFC 8058 wants one
//   HTTPS URI per message, and the application's working endpoint wins over hookd's;
// - several List-Unsubscribe fields are merged into the first and the others deleted;
//   List-Unsubscribe-Post ends up exactly once, with exactly the RFC 8058 value.
import { type HeaderField, type MailHeaderEdit, fieldKey, unfold } from "./headers.ts";

export const ONE_CLICK = "List-Unsubscribe=One-Click";

export type ListUnsubscribeResult = {
  edits: MailHeaderEdit[];
  /** "added": no header before; "merged": hookd's URL put in front of the application's;
   *  "kept": the application runs its own one-click, nothing changed. */
  action: "added" | "merged" | "kept";
};

/** The <URI> entries of a List-Unsubscribe value (comments and whitespace between them
 *  ignored; whitespace inside the brackets removed, as RFC 2369 allows it for folding). */
export function listUnsubscribeUris(value: string): string[] {
  const uris: string[] = [];
  for (const m of unfold(value).matchAll(/<([^<>]*)>/g)) {
    const uri = m[1]!.replace(/\s+/g, "");
    if (uri) uris.push(uri);
  }
  return uris;
}

/** "<a>, <b>" folded before an entry once a line would pass 78 characters. */
function foldUris(name: string, uris: readonly string[]): string {
  let out = "";
  let line = name.length + 2;
  for (const [i, u] of uris.entries()) {
    const entry = `<${u}>`;
    if (i > 0) {
      out += ",";
      line += 1;
      if (line + 1 + entry.length > 78) {
        out += "\r\n ";
        line = 1;
      } else {
        out += " ";
        line += 1;
      }
    }
    out += entry;
    line += entry.length;
  }
  return out;
}

const isHttps = (uri: string) => /^https:/i.test(uri);

/**
 * The edits that put `url` (hookd's one-click URL: https, or http without one-click) and
 * `opts.mailto` (hookd's unsubscribe address, without "mailto:") into the message's headers.
 */
export function listUnsubscribeEdits(fields: readonly HeaderField[], url: string, opts: { mailto?: string } = {}): ListUnsubscribeResult {
  if (!/^https?:\/\/[^\s<>]+$/i.test(url))
    throw new Error(`the unsubscribe URL must be an http(s) URL, got ${JSON.stringify(url.slice(0, 40))}`);
  if (opts.mailto !== undefined && !/^[^\s<>@]+@[^\s<>@]+$/.test(opts.mailto)) {
    throw new Error(
      `the unsubscribe address must be an address without spaces or brackets, got ${JSON.stringify(opts.mailto.slice(0, 40))}`,
    );
  }
  const lu = fields.filter((f) => fieldKey(f.name) === "list-unsubscribe");
  const posts = fields.filter((f) => fieldKey(f.name) === "list-unsubscribe-post");
  const theirs = lu.flatMap((f) => listUnsubscribeUris(f.value));
  const theirOneClick = posts.some((f) => unfold(f.value).trim().toLowerCase() === ONE_CLICK.toLowerCase());
  if (theirOneClick && theirs.some(isHttps)) return { edits: [], action: "kept" };

  const ours = [url, ...(opts.mailto === undefined ? [] : [`mailto:${opts.mailto}`])];
  const uris = [...ours, ...theirs.filter((u, i) => !ours.includes(u) && theirs.indexOf(u) === i)];
  const value = foldUris("List-Unsubscribe", uris);
  const edits: MailHeaderEdit[] = [];
  if (lu.length === 0) edits.push({ op: "add", name: "List-Unsubscribe", value });
  else {
    edits.push({ op: "change", name: "List-Unsubscribe", index: 1, value });
    for (let i = 2; i <= lu.length; i++) edits.push({ op: "delete", name: "List-Unsubscribe", index: i });
  }
  if (!isHttps(url)) {
    // no one-click of hookd's: the application's List-Unsubscribe-Post stays as it was
  } else if (posts.length === 0) edits.push({ op: "add", name: "List-Unsubscribe-Post", value: ONE_CLICK });
  else {
    if (unfold(posts[0]!.value).trim() !== ONE_CLICK)
      edits.push({ op: "change", name: "List-Unsubscribe-Post", index: 1, value: ONE_CLICK });
    for (let i = 2; i <= posts.length; i++) edits.push({ op: "delete", name: "List-Unsubscribe-Post", index: i });
  }
  return { edits, action: lu.length === 0 ? "added" : "merged" };
}
