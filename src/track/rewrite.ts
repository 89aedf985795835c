import { decodeAttribute, escapeAttribute } from "./html-attr.ts";

// Tracking for one HTML part, with Bun's HTMLRewriter (lol-html: a streaming tokenizer that
// copies every byte it is not asked to change). Rules:
// - `<a href>` and `<area href>` whose value, decoded as a browser decodes it, is an absolute
//   http(s) URL become `linkFor(url)`; `url` is the URL the browser would have followed
//   (`new URL(value).href`). mailto:, tel:, "#…", relative and other links stay as they are.
// - A link marked not to be tracked stays as it is, and the mark is removed (like the
//   X-Hookd-* control headers, it is an instruction to hookd, not content for the reader):
//   `data-hookd-notrack`, and the marks of the providers people move from, SendGrid's
//   `clicktracking="off"` and SparkPost's `data-msys-clicktrack="0"`.
// - Links inside Outlook's conditional comments (`<!--[if mso]>…<![endif]-->`, where
//   "bulletproof" buttons keep their VML `<v:roundrect href>`) are tracked too: Outlook for
//   Windows renders that markup, every other client sees a comment.
// - One pixel, before the first `</body>` (or `</html>`), else at the end of the part.
// - Everything else, and every tag not changed, byte for byte. A changed tag is written again
//   by lol-html: names, values and quotes of its other attributes as they were, the spaces or
//   line breaks between attributes as one space; the href value double-quoted and escaped.
// The part is a string: the caller decodes it from its charset and encodes it back. A link
// `linkFor` cannot sign stays as it is; if HTMLRewriter itself throws, the caller sends the
// part unchanged.

export type RewriteOptions = {
  /** The tracked link for a destination; absent: links stay as they are. */
  linkFor?: (url: string) => string;
  /** The open pixel's URL; absent: no pixel. */
  pixelUrl?: string;
};

export type RewriteResult = {
  html: string;
  /** Links rewritten. */
  links: number;
  /** Links left as they were because `linkFor` threw (e.g. a URL too long to sign). */
  skipped: number;
  pixel: boolean;
};

type Counts = { links: number; skipped: number };

export function rewriteHtml(html: string, opts: RewriteOptions): RewriteResult {
  const { linkFor, pixelUrl } = opts;
  const counts: Counts = { links: 0, skipped: 0 };
  let pixelPlaced = false;
  const pixel = pixelUrl === undefined ? null : pixelTag(pixelUrl);
  const rw = new HTMLRewriter();
  if (linkFor) {
    // Marked links apart, so the common case asks lol-html for one attribute, not four.
    rw.on(UNMARKED, {
      element(el) {
        trackHref(el, linkFor, false, counts);
      },
    });
    rw.on(MARKED, {
      element(el) {
        trackHref(el, linkFor, true, counts);
      },
    });
  }
  if (pixel) {
    rw.on("body", {
      element(el) {
        el.onEndTag((end) => {
          if (pixelPlaced) return;
          end.before(pixel, { html: true });
          pixelPlaced = true;
        });
      },
    });
  }
  rw.onDocument({
    comments(c) {
      if (!linkFor || !c.text.startsWith("[if") || !/href/i.test(c.text)) return;
      const inner = trackConditional(c.text, linkFor, counts);
      // Comment.replace() in Bun 1.3 inserts without removing; assigning the text works.
      if (inner !== c.text) c.text = inner;
    },
    end(end) {
      if (!pixel || pixelPlaced) return;
      end.append(pixel, { html: true });
      pixelPlaced = true;
    },
  });
  const out = rw.transform(html);
  return { html: out, ...counts, pixel: pixelPlaced };
}

/** The URL a link leads to if hookd would track it: absolute http(s) only. */
export function trackableUrl(rawHref: string): string | null {
  const value = decodeAttribute(rawHref);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: URL parsers skip leading C0 controls and spaces, so must this check
  if (!/^[\s\x00-\x20]*h/i.test(value)) return null; // fast path: mailto:, tel:, #, relative
  try {
    const u = new URL(value);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
  } catch {
    return null;
  }
}

const NOTRACK_MARKS: ReadonlyArray<[attribute: string, isMark: (value: string) => boolean]> = [
  ["data-hookd-notrack", () => true],
  ["clicktracking", (v) => v.trim().toLowerCase() === "off"], // SendGrid
  ["data-msys-clicktrack", (v) => v.trim() === "0"], // SparkPost
];

const MARK_NAMES = NOTRACK_MARKS.map(([name]) => name);
const UNMARKED = ["a", "area"].map((tag) => `${tag}[href]${MARK_NAMES.map((n) => `:not([${n}])`).join("")}`).join(", ");
const MARKED = ["a", "area"].flatMap((tag) => MARK_NAMES.map((n) => `${tag}[href][${n}]`)).join(", ");

// One link that cannot be tracked stays as it is; the rest of the part is still tracked.
function trackHref(el: HTMLRewriterTypes.Element, linkFor: (url: string) => string, mayBeMarked: boolean, counts: Counts): void {
  if (mayBeMarked && removeMarks(el)) return;
  const url = trackableUrl(el.getAttribute("href") ?? "");
  if (url === null) return;
  let link: string;
  try {
    link = linkFor(url);
  } catch {
    counts.skipped++;
    return;
  }
  if (link === url) return; // untouched: the tag stays byte for byte
  el.setAttribute("href", escapeAttribute(link));
  counts.links++;
}

/** Removes the not-tracked marks; true when there was one. */
function removeMarks(el: HTMLRewriterTypes.Element): boolean {
  let marked = false;
  for (const [name, isMark] of NOTRACK_MARKS) {
    // Bun 1.3's getAttribute answers null for an empty value (`<a data-hookd-notrack>`): ask hasAttribute.
    if (el.hasAttribute(name) && isMark(decodeAttribute(el.getAttribute(name) ?? ""))) {
      el.removeAttribute(name);
      marked = true;
    }
  }
  return marked;
}

// The inside of a conditional comment is HTML that only Outlook parses: rewrite it with its
// own rewriter. VML shapes (`v:roundrect`, `v:rect`, …) carry their link in `href` too.
function trackConditional(text: string, linkFor: (url: string) => string, counts: Counts): string {
  return new HTMLRewriter()
    .on("[href]", {
      element(el) {
        const tag = el.tagName;
        if (tag === "a" || tag === "area" || tag.startsWith("v:")) trackHref(el, linkFor, true, counts);
      },
    })
    .transform(text);
}

function pixelTag(url: string): string {
  // Not display:none: some clients skip loading hidden images. 1×1, no border, no margin, with
  // !important against the message's own CSS (as SendGrid's open pixel does).
  return `<img src="${escapeAttribute(url)}" alt="" width="1" height="1" border="0" style="height:1px!important;width:1px!important;border:0!important;margin:0!important;padding:0!important" />`;
}

export type UnsubscribeHeaders = { "List-Unsubscribe": string; "List-Unsubscribe-Post"?: string };

/**
 * The List-Unsubscribe header with hookd's URL first, plus the non-HTTP URIs (mailto:) of an
 * `existing` value the application set; and List-Unsubscribe-Post for one-click (RFC 8058)
 * when the URL is https. RFC 8058 §3.1 allows exactly one HTTPS URI, so an existing http(s)
 * URI is dropped: the unsubscribe reaches the application as a list_unsubscribe event.
 * Folding a long line is the caller's (it knows the header's name length and line ending).
 */
export function unsubscribeHeaders(url: string, existing?: string): UnsubscribeHeaders {
  const uris = [`<${url}>`];
  for (const m of (existing ?? "").matchAll(/<([^<>]*)>/g)) {
    const uri = m[1]!.replace(/\s+/g, "");
    if (uri && !/^https?:/i.test(uri)) uris.push(`<${uri}>`);
  }
  const headers: UnsubscribeHeaders = { "List-Unsubscribe": uris.join(", ") };
  if (url.startsWith("https://")) headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click";
  return headers;
}
