// `hookd parse` reads plain files in big blocks and only whole lines are decoded: the lines
// must be exactly those of a plain read-and-split, whatever falls on a block boundary.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { generate } from "../../bench/postfix-log.ts";
import { openLines } from "../../src/cli/parse.ts";
import { BUN, childEnv, REPO_ROOT, within } from "../helpers/hookd.ts";

async function collect(file: string): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of openLines(file)) out.push(...batch);
  return out;
}

/** What a whole-file read gives: split at "\n", a "\r" before it dropped, no empty last line. */
function reference(bytes: Uint8Array): string[] {
  const lines = new TextDecoder().decode(bytes).split("\n");
  const last = lines.pop() as string;
  return [...lines.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l)), ...(last ? [last] : [])];
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
  test("cleanup", () => rmSync(dir, { recursive: true, force: true }));
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
