import { describe, expect, test } from "bun:test";
import path from "node:path";
import { decodeAttribute, escapeAttribute } from "../../src/track/html-attr.ts";
import { messageLinks } from "../../src/track/links.ts";
import { rewriteHtml, trackableUrl, unsubscribeHeaders } from "../../src/track/rewrite.ts";

const fixture = (name: string) => Bun.file(path.join(import.meta.dir, "fixtures", name)).text();
const FIXTURES = ["mso-newsletter.html", "legacy-uppercase.html", "fragment.html"];

/** A linkFor that numbers destinations and remembers them. */
function recorder(prefix = "https://t.example/c/") {
  const seen: string[] = [];
  return { seen, linkFor: (url: string) => `${prefix}${seen.push(url)}` };
}

describe("byte for byte", () => {
  for (const name of FIXTURES) {
    test(`${name}: linkFor = identity and no pixel gives the input back unchanged`, async () => {
      const html = await fixture(name);
      const seen: string[] = [];
      const out = rewriteHtml(html, { linkFor: (u) => (seen.push(u), u) });
      expect(out.html).toBe(html);
      expect(out.links).toBe(0);
      expect(seen.length).toBeGreaterThan(0); // the links were looked at, not skipped
    });
  }

  test("CRLF line endings, comments and the doctype survive a full rewrite", async () => {
    const html = await fixture("mso-newsletter.html");
    const out = rewriteHtml(html, { ...recorder(), pixelUrl: "https://t.example/o/P" }).html;
    expect(out.split("\r\n").length).toBe(html.split("\r\n").length);
    expect(out).not.toMatch(/[^\r]\n/);
    expect(out.startsWith('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"')).toBe(true);
    expect(out).toContain("<!-- Button: bulletproof for Outlook -->");
    expect(out).toContain('/* <a href="http://inside-css-comment.example/"> */');
  });
});

describe("links", () => {
  test("every http(s) link of a newsletter, including Outlook's VML button, and nothing else", async () => {
    const html = await fixture("mso-newsletter.html");
    const r = recorder();
    const out = rewriteHtml(html, { linkFor: r.linkFor });
    expect(r.seen).toEqual([
      "https://www.example.com/?utm_source=newsletter&utm_medium=email&utm_campaign=spring",
      "https://shop.example.com/sale?cat=shoes&sort=price&dir=asc",
      "https://shop.example.com/sale?cat=bags&ref=n&l",
      "https://shop.example.com/sale?cat=hats&size=m",
      "https://shop.example.com/sale?src=button&mso=1",
      "https://shop.example.com/sale?src=button",
      "https://www.example.com/preferences?u=42&h=9f8e",
    ]);
    expect(out.links).toBe(7);
    expect(out.html).toContain(
      '<v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" xmlns:w="urn:schemas-microsoft-com:office:word" href="https://t.example/c/5"',
    );
    for (const kept of [
      'href="tel:+31201234567"',
      'href="mailto:help@example.com?subject=Spring%20sale"',
      'href="#top"',
      'href="{{unsubscribe_url}}"',
    ]) {
      expect(out.html).toContain(kept);
    }
  });

  test("links in titles, textareas, plain comments, CSS and bogus comments are text, not links", async () => {
    const legacy = rewriteHtml(await fixture("legacy-uppercase.html"), recorder());
    expect(legacy.html).toContain('<TITLE>Weekly <a href="http://not-a-link-in-title.example/">news</a></TITLE>');
    expect(legacy.html).toContain('<textarea rows=2><a href="http://inside-textarea.example/">raw text</a></textarea>');
    expect(legacy.html).toContain('<a href="http://commented-out.example/">a link</a> -->');
    const frag = rewriteHtml(await fixture("fragment.html"), recorder());
    expect(frag.html).toContain('<![CDATA[ <a href="http://bogus-comment.example/"> ]]>');
  });

  test("uppercase tags and unquoted attributes: only the href value of a changed tag is rewritten", async () => {
    const r = recorder();
    const out = rewriteHtml(await fixture("legacy-uppercase.html"), r);
    expect(out.html).toContain('<A HREF="https://t.example/c/1" TARGET=_blank><B>This week</B></A>');
    expect(out.html).toContain('<AREA SHAPE=rect COORDS="0,0,234,60" HREF="https://t.example/c/4">');
    expect(out.html).toContain('<AREA SHAPE=rect COORDS="234,0,468,60" HREF="#right" ALT=right>');
    expect(r.seen).toContain("http://news.example.org/Archive?Year=2026&Week=11"); // HTTP://News.Example.org → canonical
    expect(r.seen).toContain("https://news.example.org/spaced"); // spaces around the value, as a browser strips them
  });

  test("mailto:, tel:, #, relative, protocol-relative, ftp:, javascript: and empty hrefs stay as they are", () => {
    const html = [
      "mailto:a@example.org",
      "tel:+3120",
      "#top",
      "/path",
      "page.html",
      "//example.com/x",
      "ftp://example.com/",
      "javascript:alert(1)",
      "",
      "data:text/html,x",
    ]
      .map((h) => `<a href="${h}">x</a>`)
      .join("");
    const r = recorder();
    expect(rewriteHtml(html, r).html).toBe(html);
    expect(r.seen).toEqual([]);
  });

  test("not-tracked marks: the link stays, the mark goes", () => {
    const html =
      '<a data-hookd-notrack href="https://example.com/1">a</a><a href="https://example.com/2" data-hookd-notrack="">b</a>' +
      '<a clicktracking=off href="https://example.com/3">c</a><a href="https://example.com/4" data-msys-clicktrack="0">d</a>' +
      '<a clicktracking="on" href="https://example.com/5">e</a><area data-hookd-notrack href="https://example.com/6">';
    const r = recorder();
    const out = rewriteHtml(html, r);
    expect(out.html).toBe(
      '<a href="https://example.com/1">a</a><a href="https://example.com/2">b</a>' +
        '<a href="https://example.com/3">c</a><a href="https://example.com/4">d</a>' +
        '<a clicktracking="on" href="https://t.example/c/1">e</a><area href="https://example.com/6">',
    );
    expect(r.seen).toEqual(["https://example.com/5"]);
  });

  test("a conditional comment with a not-tracked link changes only where it must", () => {
    const html = '<!--[if mso]><v:rect href="https://a.example/" data-hookd-notrack></v:rect><![endif]-->';
    expect(rewriteHtml(html, recorder()).html).toBe('<!--[if mso]><v:rect href="https://a.example/"></v:rect><![endif]-->');
  });

  test("a link that cannot be signed (a 9 KB URL) stays as it is; the others are tracked", () => {
    const links = messageLinks({
      baseUrl: "https://t.example",
      key: { id: 1, secret: new Uint8Array(32) },
      issuedAt: 1_780_000_000,
      message: { queueId: "Q1" },
    });
    const long = `https://e.example/${"a".repeat(9000)}`;
    const html = `<a href="${long}">long</a><a href="https://e.example/ok">ok</a>`;
    const out = rewriteHtml(html, { linkFor: links.clickUrl });
    expect([out.links, out.skipped]).toEqual([1, 1]);
    expect(out.html.startsWith(`<a href="${long}">long</a><a href="https://t.example/c/`)).toBe(true);
  });
});

describe("entities in hrefs", () => {
  const destination = (href: string) => {
    const r = recorder();
    rewriteHtml(`<a href="${href}">x</a>`, r);
    return r.seen[0];
  };

  test("a &amp; in the source is a & in the destination, in every spelling", () => {
    for (const amp of ["&amp;", "&AMP;", "&#38;", "&#x26;", "&#X26;", "&#038;", "&#38"]) {
      expect(destination(`https://e.example/?a=1${amp}b=2`)).toBe("https://e.example/?a=1&b=2");
    }
    expect(destination("https://e.example/&amp/x")).toBe("https://e.example/&/x"); // legacy, no ';'
    expect(destination("https://e.example/?a=1&ampb=2")).toBe("https://e.example/?a=1&ampb=2"); // … but not before a letter
  });

  test("legacy references without ';' before '=' or a letter stay as written (the HTML attribute rule)", () => {
    expect(destination("https://e.example/?a=1&copy=2&lang=en&notit=3")).toBe("https://e.example/?a=1&copy=2&lang=en&notit=3");
    expect(destination("https://e.example/?x=&copy")).toBe("https://e.example/?x=%C2%A9");
    expect(destination("https://e.example/?x=&not;in")).toBe("https://e.example/?x=%C2%ACin");
    expect(destination("https://e.example/?x=&notin;")).toBe("https://e.example/?x=%E2%88%89");
    expect(destination("https://e.example/?x=&unknown;&;&")).toBe("https://e.example/?x=&unknown;&;&");
  });

  test("numeric references: C1 as windows-1252, invalid code points as U+FFFD, no digits as written", () => {
    expect(destination("https://e.example/&#150;")).toBe("https://e.example/%E2%80%93");
    expect(destination("https://e.example/&#0;&#xD800;&#x110000;")).toBe("https://e.example/%EF%BF%BD%EF%BF%BD%EF%BF%BD");
    expect(destination("https://e.example/?a=&#;&#x;")).toBe("https://e.example/?a=&#;&#x;");
    expect(destination("&#104;ttps://e.example/")).toBe("https://e.example/");
    expect(destination("https://e.example/&#x1F600;")).toBe("https://e.example/%F0%9F%98%80");
  });

  test("two-code-point references and the longest name win", () => {
    expect(decodeAttribute("&NotEqualTilde;")).toBe("\u2242\u0338");
    expect(decodeAttribute("&ampx")).toBe("&ampx");
    expect(decodeAttribute("&amp;amp;")).toBe("&amp;");
  });

  test('the new href is escaped: & " < > in a link are written as references', () => {
    const out = rewriteHtml('<a href="https://e.example/">x</a>', { linkFor: () => 'https://t.example/c/1?a=1&b="2"<>' });
    expect(out.html).toBe('<a href="https://t.example/c/1?a=1&amp;b=&quot;2&quot;&lt;&gt;">x</a>');
    expect(decodeAttribute(escapeAttribute('a&b"c<d>e&amp;'))).toBe('a&b"c<d>e&amp;');
  });

  test("single-quoted and unquoted hrefs with quotes inside are rewritten to a well-formed double-quoted value", () => {
    const out = rewriteHtml(`<a href='https://e.example/?q="x"'>a</a><a href=https://e.example/?q=&quot;y&quot;>b</a>`, recorder());
    expect(out.html).toBe('<a href="https://t.example/c/1">a</a><a href="https://t.example/c/2">b</a>');
  });

  test("trackableUrl answers with the URL a browser would follow", () => {
    expect(trackableUrl("  HTTPS://Example.COM/a b?c=d e#f g\n")).toBe("https://example.com/a%20b?c=d%20e#f%20g");
    expect(trackableUrl("ht\ttp://example.com")).toBe("http://example.com/");
    expect(trackableUrl("https://exämple.com/")).toBe("https://xn--exmple-cua.com/");
    expect(trackableUrl("https://")).toBeNull();
  });
});

describe("pixel", () => {
  const pixel = "https://t.example/o/P?a&b";
  const tag = '<img src="https://t.example/o/P?a&amp;b" alt="" width="1" height="1" border="0"';

  test("once, just before </body>, whatever its case", () => {
    const out = rewriteHtml("<html><BODY><p>hi</p></BODY></html>", { pixelUrl: pixel });
    expect(out.pixel).toBe(true);
    expect(out.html.startsWith(`<html><BODY><p>hi</p>${tag}`)).toBe(true);
    expect(out.html.endsWith(" /></BODY></html>")).toBe(true);
  });

  test("before </html> when </body> is missing; at the end of a fragment", () => {
    expect(rewriteHtml("<html><body><p>x</html>", { pixelUrl: pixel }).html).toMatch(
      new RegExp(`^<html><body><p>x${escapeHtml(tag)}[^<]*/></html>$`),
    );
    const frag = rewriteHtml("<p>fragment</p>\n", { pixelUrl: pixel });
    expect(frag.html.startsWith(`<p>fragment</p>\n${tag}`)).toBe(true);
  });

  test("exactly one pixel with two bodies, none inside a conditional comment's body", () => {
    const html = "<body>a</body><body>b</body><!--[if mso]></body><![endif]-->";
    const out = rewriteHtml(html, { pixelUrl: pixel }).html;
    expect(out.split("<img").length - 1).toBe(1);
    expect(out.startsWith(`<body>a${tag}`)).toBe(true);
  });

  test("no pixelUrl, no pixel", () => {
    expect(rewriteHtml("<body>a</body>", {}).pixel).toBe(false);
    expect(rewriteHtml("<body>a</body>", {}).html).toBe("<body>a</body>");
  });
});

function escapeHtml(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("unsubscribeHeaders", () => {
  test("RFC 8058: the https URL and the one-click POST header", () => {
    expect(unsubscribeHeaders("https://t.example/u/TOKEN")).toEqual({
      "List-Unsubscribe": "<https://t.example/u/TOKEN>",
      "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    });
  });

  test("an application's mailto: is kept after ours; its own http(s) URI goes (one HTTPS URI only)", () => {
    const h = unsubscribeHeaders(
      "https://t.example/u/T",
      "<mailto:unsub@example.com?subject=unsubscribe>,\r\n <https://app.example/unsub/42>, <HTTP://old.example/u>",
    );
    expect(h["List-Unsubscribe"]).toBe("<https://t.example/u/T>, <mailto:unsub@example.com?subject=unsubscribe>");
  });

  test("no one-click promise for a plain http listener", () => {
    expect(unsubscribeHeaders("http://t.example/u/T")).toEqual({ "List-Unsubscribe": "<http://t.example/u/T>" });
  });
});
