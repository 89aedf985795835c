// `hookd parse` reads plain files in big blocks and only whole lines are decoded: the lines
// must be exactly those of a plain read-and-split, whatever falls on a block boundary.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { generate } from "../../bench/postfix-log.ts";
import { openBlocks, openLines } from "../../src/cli/parse.ts";
import { MAX_LINE_BYTES, overlongLine } from "../../src/ingest/line-reader.ts";
import { BUN, childEnv, REPO_ROOT, within } from "../helpers/hookd.ts";

async function collect(file: string): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of openLines(file)) out.push(...batch);
  return out;
}

/**
 * What a whole-file read gives: split at "\n", a "\r" before it dropped, no empty last line,
 * and a line over MAX_LINE_BYTES replaced by the marker.
 */
function reference(bytes: Uint8Array): string[] {
  const lines = new TextDecoder().decode(bytes).split("\n");
  const last = lines.pop() as string;
  const cap = (l: string) => (Buffer.byteLength(l) > MAX_LINE_BYTES ? overlongLine() : l);
  return [...lines.map((l) => cap(l.endsWith("\r") ? l.slice(0, -1) : l)), ...(last ? [cap(last)] : [])];
}

describe("openLines", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "hookd-parse-"));
  const enc = new TextEncoder();
  const cases: Record<string, Uint8Array> = {
    empty: new Uint8Array(0),
    "no final newline": enc.encode("a\nb\r\nc"),
    "CRLF and blank lines": enc.encode("a\r\n\r\n\nb\r\n"),
    "BOM, multi-byte text and a broken sequence": Uint8Array.from([
      0xef,
      0xbb,
      0xbf,
      ...enc.encode("ü€😀\n"),
      0xe2,
      0x82,
      0x0a,
      0x41,
      0xe2,
      0x82,
    ]),
    // Multi-byte characters straddling the 4 MiB block boundary, then a line longer than a block.
    "block boundaries": enc.encode(`${"é".repeat(3 << 20)}\n${"€x".repeat(1 << 20)}\n${"y".repeat(9 << 20)}\nend\n`),
  };
  for (const [name, bytes] of Object.entries(cases)) {
    test(name, async () => {
      const file = path.join(dir, "mail.log");
      writeFileSync(file, bytes);
      expect(await collect(file)).toEqual(reference(bytes));
      writeFileSync(`${file}.gz`, gzipSync(bytes));
      expect(await collect(`${file}.gz`)).toEqual(reference(bytes));
    });
  }
  test("a 10 MB line is never held whole: no block read is larger than a read block", async () => {
    const file = path.join(dir, "long.log");
    writeFileSync(file, `a\n${"z".repeat(10 << 20)}\nb\n${"z".repeat(10 << 20)}`);
    for (const f of [file, `${file}.gz`]) {
      if (f.endsWith(".gz")) writeFileSync(f, gzipSync(Buffer.from(`a\n${"z".repeat(10 << 20)}\nb\n${"z".repeat(10 << 20)}`)));
      let largest = 0;
      const lines: string[] = [];
      for await (const block of openBlocks(f)) {
        largest = Math.max(largest, block.length);
        lines.push(...block.split("\n").filter(Boolean));
      }
      expect(lines).toEqual(["a", overlongLine(), "b", overlongLine()]);
      expect(largest).toBeLessThanOrEqual(4 << 20);
    }
  });

  test("cleanup", () => rmSync(dir, { recursive: true, force: true }));
});

describe("hookd parse and over-long lines", () => {
  test("each line over 64 KB is counted as not understood, named in the examples, and gives no event", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "hookd-parse-long-"));
    const file = path.join(dir, "mail.log");
    const sent = (qid: string, reply: string) =>
      `Nov 23 13:07:10 mx1 postfix/smtp[1234]: ${qid}: to=<a@example.org>, relay=mx[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (${reply})`;
    const queued = (qid: string) =>
      `Nov 23 13:07:09 mx1 postfix/qmgr[999]: ${qid}: from=<n@example.com>, size=2048, nrcpt=1 (queue active)`;
    writeFileSync(
      file,
      [
        queued("4BCD21C03F2"),
        sent("4BCD21C03F2", `250 ${"x".repeat(10 << 20)}`),
        queued("5BCD21C03F3"),
        sent("5BCD21C03F3", "250 ok"),
      ].join("\n") + "\n",
    );
    const p = Bun.spawn([BUN, path.join(REPO_ROOT, "src/main.ts"), "parse", file], { env: childEnv(), stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await within(Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]), 30_000, [
      "",
      "timed out",
      -1,
    ] as const);
    rmSync(dir, { recursive: true, force: true });
    expect(code).toBe(0);
    const events = out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; queue_id: string });
    expect(events.map((e) => `${e.type} ${e.queue_id}`)).toEqual(["injection 5BCD21C03F3", "delivery 5BCD21C03F3"]);
    expect(err).toContain("1 lines not understood");
    expect(err).toContain(overlongLine());
  }, 40_000);
});

describe("hookd parse into a pipe", () => {
  // Bun drops output still queued on a pipe at process.exit(): `hookd parse FILE | …` used to
  // lose a different tail each run. Every event line must reach a slow reader.
  test("a slow reader downstream gets every event line the summary counts", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "hookd-pipe-"));
    try {
      const log = path.join(dir, "mail.log");
      writeFileSync(log, generate(60_000).join("\n") + "\n");
      const main = path.join(REPO_ROOT, "src/main.ts");
      // sleep first: the pipe fills and hookd has to wait for the reader before it may exit.
      const proc = Bun.spawn(["sh", "-c", `"$0" "${main}" parse --format postfix "${log}" 2>"${dir}/summary" | (sleep 1; wc -l)`, BUN], {
        stdout: "pipe",
        env: childEnv(),
      });
      const lines = Number((await within(new Response(proc.stdout).text(), 60_000, "timeout")).trim());
      expect(await proc.exited).toBe(0);
      const summary = await Bun.file(path.join(dir, "summary")).text();
      const events = Number(/; (\d+) events/.exec(summary)?.[1]);
      expect(events).toBeGreaterThan(10_000);
      expect(lines).toBe(events);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
