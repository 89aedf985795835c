// Rewrite time for one ~100 KB HTML part with 200 links (issue 15's size), against
// HTMLRewriter doing nothing over the same part, measured in the same run and interleaved
// round by round, so load from elsewhere hits both alike. The rewrite is the real one: links
// signed (one HMAC each), the pixel added. Goal: ≤ 2 ms a part.
//   bun bench/track-rewrite.bench.ts          (run.ts: trackRewriteFigures(rows))
import os from "node:os";
import { generateKey } from "../src/track/keyring.ts";
import { messageLinks } from "../src/track/links.ts";
import { rewriteHtml } from "../src/track/rewrite.ts";
import { note, type Row } from "./perf-common.ts";

const ROUNDS = 400;

/** A table-layout newsletter: `links` distinct tracked links, filled to `targetBytes` with text rows. */
export function newsletter(links: number, targetBytes: number): string {
  const head =
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\r\n' +
    '<html><head><meta charset="utf-8"><style>a{color:#0b5ed7}</style></head><body>\r\n<table width="100%">\r\n';
  let body = "";
  for (let i = 0; i < links; i++) {
    body +=
      `<tr><td class="item" style="padding:12px 24px;font-family:Arial,sans-serif;font-size:15px;line-height:22px;color:#333333">` +
      `<a href="https://shop.example.com/products/item-${i}?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=spring&amp;utm_content=link${i}" ` +
      `style="color:#0b5ed7;text-decoration:underline" target="_blank">Product ${i}: something worth reading about</a>` +
      `<p style="margin:8px 0 0">A short description of product ${i}, with &eacute;ntities &amp; text.</p></td></tr>\r\n`;
  }
  const filler =
    '<tr><td style="padding:0 24px;font-size:13px;color:#777">Filler paragraph of ordinary newsletter text to reach the size of a real part.</td></tr>\r\n';
  while (head.length + body.length < targetBytes - 40) body += filler;
  return `${head}${body}</table>\r\n</body></html>\r\n`;
}

export type RewriteFigures = { bytes: number; links: number; noop: { p50: number; p10: number }; rewrite: { p50: number; p10: number } };

export function measureRewrite(): RewriteFigures {
  const html = newsletter(200, 100 * 1024);
  const key = generateKey(1);
  const message = { host: "mx1.example.com", queueId: "4BCD21C03F2", rcpt: "alice@example.org", ref: 12345 };
  const noop = () => new HTMLRewriter().on("a[href]", { element() {} }).transform(html);
  const rewrite = () => {
    const links = messageLinks({ baseUrl: "https://t.example.com", key, issuedAt: Math.floor(Date.now() / 1000), message });
    // As track/message.ts calls it: rewriteHtml's hrefs are canonical already.
    return rewriteHtml(html, { linkFor: (url) => links.clickUrl(url, true), pixelUrl: links.pixelUrl });
  };
  const linkCount = rewrite().links;
  for (let i = 0; i < 30; i++) noop(), rewrite(); // warm-up: JIT, entity table
  const t: { noop: number[]; rewrite: number[] } = { noop: [], rewrite: [] };
  for (let i = 0; i < ROUNDS; i++) {
    let s = performance.now();
    noop();
    t.noop.push(performance.now() - s);
    s = performance.now();
    rewrite();
    t.rewrite.push(performance.now() - s);
  }
  const q = (xs: number[], p: number) => xs.sort((a, b) => a - b)[Math.floor(xs.length * p)]!;
  return {
    bytes: html.length,
    links: linkCount,
    noop: { p50: q(t.noop, 0.5), p10: q(t.noop, 0.1) },
    rewrite: { p50: q(t.rewrite, 0.5), p10: q(t.rewrite, 0.1) },
  };
}

export function trackRewriteFigures(rows: Row[]): void {
  const f = measureRewrite();
  rows.push({
    figure: `track: rewrite a ${Math.round(f.bytes / 1024)} KB HTML part, ${f.links} links signed + pixel (median)`,
    baseline: "HTMLRewriter doing nothing, same part",
    baselineValue: f.noop.p50,
    value: f.rewrite.p50,
    unit: "ms",
    higherIsBetter: false,
    target: "≤ 2 ms",
  });
  note(
    "track-rewrite",
    `${ROUNDS} interleaved rounds; p10 ${f.rewrite.p10.toFixed(2)} ms (baseline ${f.noop.p10.toFixed(2)} ms); load average ${os.loadavg()[0]!.toFixed(1)}`,
  );
}

if (import.meta.main) {
  const f = measureRewrite();
  const ms = (x: number) => `${x.toFixed(3)} ms`;
  console.log(
    `part ${Math.round(f.bytes / 1024)} KB, ${f.links} links; ${ROUNDS} interleaved rounds; load average ${os.loadavg()[0]!.toFixed(1)}`,
  );
  console.log(`HTMLRewriter doing nothing  p50 ${ms(f.noop.p50)}  p10 ${ms(f.noop.p10)}`);
  console.log(
    `rewrite + sign + pixel      p50 ${ms(f.rewrite.p50)}  p10 ${ms(f.rewrite.p10)}   ratio ${(f.rewrite.p50 / f.noop.p50).toFixed(1)}×   (goal ≤ 2 ms)`,
  );
}
