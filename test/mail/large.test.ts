// A 30 MB message with a 20 MB attachment: rewritten within bounded time and memory, the
// attachment byte for byte; and over the configured limit, not looked at.
import { expect, test } from "bun:test";
import { rewriteHtmlParts } from "../../src/mail/parts.ts";

const MB = 1024 * 1024;

function bigMessage(): { header: Buffer; body: Buffer; attachmentAt: number } {
  const links = Array.from(
    { length: 100 },
    (_, i) => `<p><a href="https://example.com/article/${i}?utm_source=mail">Article ${i}</a></p>`,
  ).join("\r\n");
  const html = `<html><body>${links}\r\n${"<p>filler text for a fifty kilobyte newsletter</p>\r\n".repeat(800)}</body></html>`;
  // 20 MB of binary data, base64 at 76 a line (~27 MB), plus a 2 MB second file
  const attachment = Buffer.alloc(20 * MB);
  for (let i = 0; i < attachment.length; i += 4) attachment.writeUInt32LE((i * 2654435761) >>> 0, i);
  const b64 = (buf: Buffer) => buf.toString("base64").replace(/.{76}/g, "$&\r\n");
  const header = Buffer.from(
    'From: a@example.com\r\nTo: b@example.org\r\nSubject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="mix"\r\n\r\n',
  );
  const head = `--mix\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n${html}\r\n`;
  const att = `--mix\r\nContent-Type: application/octet-stream; name="big.bin"\r\nContent-Disposition: attachment; filename="big.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64(attachment)}\r\n--mix\r\nContent-Type: application/pdf; name="x.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64(attachment.subarray(0, 2 * MB))}\r\n--mix--\r\n`;
  const body = Buffer.from(head + att, "latin1");
  return { header, body, attachmentAt: Buffer.byteLength(head) };
}

test("a 30 MB message with a 20 MB attachment: bounded time and memory, attachment untouched", async () => {
  const m = bigMessage();
  const size = m.header.length + m.body.length;
  expect(size).toBeGreaterThan(30 * 1000 * 1000);
  Bun.gc(true);
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  const started = performance.now();
  const outcome = await rewriteHtmlParts(m, (h) => h.replace("</body>", '<img src="https://t.example/o/x" width="1" height="1"></body>'), {
    maxBytes: 64 * MB,
    timeoutMs: 30_000,
  });
  const ms = performance.now() - started;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  if (!outcome.changed) throw new Error(`${outcome.reason}: ${outcome.detail}`);
  console.log(
    `30 MB message (${(size / MB).toFixed(1)} MiB): rewritten in ${ms.toFixed(0)} ms, RSS peak +${((peak - rss0) / MB).toFixed(0)} MiB over ${(rss0 / MB).toFixed(0)} MiB`,
  );
  const delta = outcome.body.length - m.body.length;
  expect(outcome.body.subarray(m.attachmentAt + delta).equals(m.body.subarray(m.attachmentAt))).toBe(true);
  expect(ms).toBeLessThan(15_000);
  expect(peak - rss0).toBeLessThan(8 * size);
}, 60_000);

test("the same message over the configured limit comes back unchanged at once", async () => {
  const m = bigMessage();
  const started = performance.now();
  const outcome = await rewriteHtmlParts(m, (h) => `${h}x`, { maxBytes: 25 * MB, timeoutMs: 10_000 });
  expect(outcome).toMatchObject({ changed: false, reason: "too_large" });
  expect(performance.now() - started).toBeLessThan(50);
}, 60_000);
