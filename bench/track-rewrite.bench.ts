// Rewrite time for one ~100 KB HTML part with 200 links (the newsletter size the issue names),
// against HTMLRewriter doing nothing over the same part, measured in the same run: the ratio is
// our cost over the parser's. Links are signed for real (one HMAC each). Goal: ≤ 2 ms a part.
//   bun bench/track-rewrite.bench.ts
import { generateKey } from "../src/track/keyring.ts";
import { messageLinks } from "../src/track/links.ts";
import { rewriteHtml } from "../src/track/rewrite.ts";

export function newsletter(links: number, targetBytes: number): string {
  const rows: string[] = [];
  for (let i = 0; i < links; i++) {
    rows.push(
      `<tr><td class="item" style="padding:12px 24px;font-family:Arial,sans-serif;font-size:15px;line-height:22px;color:#333333">` +
        `<a href="https://shop.example.com/products/item-${i}?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=spring&amp;utm_content=link${i}" ` +
        `style="color:#0b5ed7;text-decoration:underline" target="_blank">Product ${i}: something worth reading about</a>` +
        `<p style="margin:8px 0 0">A short description of product ${i}, with &eacute;ntities &amp; text.</p></td></tr>\r\n`,
    );
  }
  const head = `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\r\n<html><head><meta charset="utf-8"><style>a{color:#0b5ed7}</style></head><body>\r\n<table width="100%">\r\n`;
  let body = rows.join("");
  const filler = `<tr><td style="padding:0 24px;font-size:13px;color:#777">Filler paragraph of ordinary newsletter text to reach the size of a real part.</td></tr>\r\n`;
  while (head.length + body.length < targetBytes - 40) body += filler;
  return `${head}${body}</table>\r\n</body></html>\r\n`;
}

function median(fn: () => unknown, runs: number): number {
  for (let i = 0; i < 20; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

if (import.meta.main) {
  const html = newsletter(200, 100 * 1024);
  const key = generateKey(1);
  const issuedAt = Math.floor(Date.now() / 1000);
  const message = { host: "mx1.example.com", queueId: "4BCD21C03F2", rcpt: "alice@example.org", ref: 12345 };
  const noop = median(() => new HTMLRewriter().on("a[href]", { element() {} }).transform(html), 200);
  const rewrite = median(() => {
    const links = messageLinks({ baseUrl: "https://t.example.com", key, issuedAt, message });
    return rewriteHtml(html, { linkFor: links.clickUrl, pixelUrl: links.pixelUrl });
  }, 200);
  const out = rewriteHtml(html, { linkFor: (u) => u + "#t", pixelUrl: "https://t.example.com/o/x" });
  console.log(`part ${(html.length / 1024).toFixed(0)} KB, ${out.links} links`);
  console.log(`HTMLRewriter doing nothing: ${noop.toFixed(3)} ms   rewrite + sign: ${rewrite.toFixed(3)} ms   ratio ${(rewrite / noop).toFixed(2)}×   (goal ≤ 2 ms)`);
}
