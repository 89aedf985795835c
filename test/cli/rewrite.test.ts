// `hookd rewrite` as Exim runs it: a real process, the message on stdin, the tracked message on
// stdout, exit 0 — and on any failure the message byte for byte as it came, exit 0 all the
// same, one line on stderr. Beside a running `hookd serve` on the same store.
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Database } from "bun:sqlite";
import { BUN, MAIN_TS, childEnv, spawnHookd, tempDir } from "../helpers/hookd.ts";

type Run = { code: number; stdout: Buffer; stderr: string };

async function rewrite(args: string[], input: Buffer, env: Record<string, string> = {}, cwd = tempDir()): Promise<Run> {
  const proc = Bun.spawn([BUN, MAIN_TS, "rewrite", ...args], { cwd, env: childEnv(env), stdin: input, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).arrayBuffer(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout: Buffer.from(stdout), stderr };
}

/** LF line ends, as Exim hands a message to a transport filter. */
const MESSAGE = (extra: string[] = []) =>
  Buffer.from(
    [
      "Received: from [127.0.0.1] by mx.hookd.test with esmtp (Exim 4.96) id 1tAbCd-000123-Xy",
      "From: App <app@sender.example>",
      "To: alice@example.org",
      "Subject: Sale",
      "Message-ID: <ex1@sender.example>",
      ...extra,
      "MIME-Version: 1.0",
      "Content-Type: text/html; charset=utf-8",
      "",
      '<html><body><a href="https://shop.example/sale">Sale</a></body></html>',
      "",
    ].join("\n"),
  );

function config(dir: string, extra = ""): string {
  const file = path.join(dir, "hookd.toml");
  writeFileSync(file, `[storage]\npath = "${path.join(dir, "hookd.db")}"\n[tracking]\nbase_url = "https://t.example.com"\n${extra}`);
  return file;
}

describe("hookd rewrite", () => {
  test("beside a running hookd serve: a marked message comes out tracked (LF kept), its campaign row stored; unmarked ones byte for byte", async () => {
    const dir = tempDir();
    const file = config(dir);
    const serve = await spawnHookd({ cwd: dir, args: ["serve", "--config", file] });
    try {
      const marked = MESSAGE(["X-Hookd-Track: opens, clicks, unsubscribe", "X-Hookd-Campaign: spring"]);
      const r = await rewrite(["--config", file, "--rcpt", "alice@example.org", "--queue-id", "1tAbCd-000123-Xy"], marked);
      expect([r.code, r.stderr]).toEqual([0, ""]);
      const out = r.stdout.toString();
      expect(out).not.toContain("X-Hookd-");
      expect(out).toContain('<a href="https://t.example.com/c/');
      expect(out).toMatch(
        /\nList-Unsubscribe: <https:\/\/t\.example\.com\/u\/[A-Za-z0-9_-]+>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n\n/,
      );
      expect(out).not.toContain("\r");
      expect(out.startsWith("Received: from [127.0.0.1]")).toBe(true);
      const db = new Database(path.join(dir, "hookd.db"), { readonly: true });
      expect(db.query("SELECT data FROM tracked_messages").all()).toEqual([{ data: JSON.stringify({ campaign_id: "spring" }) }]);
      db.close();

      const plain = MESSAGE();
      const u = await rewrite(["--config", file, "--rcpt", "alice@example.org"], plain);
      expect([u.code, u.stderr, u.stdout.equals(plain)]).toEqual([0, "", true]);
    } finally {
      await serve.stop();
    }
  }, 30_000);

  test("every failure passes the message unchanged with exit 0 and says why on stderr", async () => {
    const dir = tempDir();
    const marked = MESSAGE(["X-Hookd-Track: all"]);
    const cases: [string, string[], Record<string, string>, RegExp][] = [
      ["no --rcpt", ["--config", config(dir)], {}, /--rcpt ADDR is required/],
      ["an unknown option", ["--rcpt", "a@b.example", "--bogus"], {}, /unknown option --bogus/],
      ["a config that does not load", ["--rcpt", "a@b.example", "--config", path.join(dir, "missing.toml")], {}, /config file not found/],
      ["no store yet", ["--rcpt", "a@b.example", "--config", config(dir)], {}, /no store at .*hookd\.db: start hookd serve/],
      [
        "a bad value in the environment",
        ["--rcpt", "a@b.example", "--config", config(dir)],
        { HOOKD_MILTER_TRACK: "sometimes" },
        /HOOKD_MILTER_TRACK: expected one of all, header, off/,
      ],
    ];
    for (const [what, args, env, why] of cases) {
      const r = await rewrite(args, marked, env, dir);
      expect([what, r.code, r.stdout.equals(marked)]).toEqual([what, 0, true]);
      expect(r.stderr).toMatch(why);
      expect(r.stderr).toEndWith("; the message passed unchanged\n");
    }
  }, 30_000);

  test("with stderr on stdout's pipe (as Exim runs a filter), nothing but the message is written; --log FILE gets the line", async () => {
    const dir = tempDir();
    const log = path.join(dir, "rewrite.log");
    const marked = MESSAGE(["X-Hookd-Track: all"]);
    const input = path.join(dir, "in.eml");
    writeFileSync(input, marked);
    const proc = Bun.spawn(
      [
        "sh",
        "-c",
        `exec "$0" "$@" 2>&1 <"${input}"`,
        BUN,
        MAIN_TS,
        "rewrite",
        "--config",
        config(dir),
        "--log",
        log,
        "--queue-id",
        "1tQ-1",
        "--rcpt",
        "a@b.example",
      ],
      { cwd: dir, env: childEnv(), stdout: "pipe" },
    );
    const [out, code] = await Promise.all([new Response(proc.stdout).arrayBuffer(), proc.exited]);
    expect([code, Buffer.from(out).equals(marked)]).toEqual([0, true]);
    expect(readFileSync(log, "utf8")).toMatch(
      /^\d{4}-\d\d-\d\dT[\d:.]+Z 1tQ-1 hookd rewrite: no store at .*; the message passed unchanged\n$/,
    );
  });

  test("further arguments are more recipients ($pipe_addresses): the links then name the message only", async () => {
    const dir = tempDir();
    const file = config(dir);
    const serve = await spawnHookd({ cwd: dir, args: ["serve", "--config", file] });
    try {
      const r = await rewrite(
        ["--config", file, "--queue-id", "1tQ-2", "--rcpt", "a@b.example", "c@d.example"],
        MESSAGE(["X-Hookd-Track: opens"]),
      );
      expect([r.code, r.stderr]).toEqual([0, ""]);
      const token = /\/o\/([A-Za-z0-9_-]+)"/.exec(r.stdout.toString())![1]!;
      const bytes = Buffer.from(token, "base64url").toString("latin1");
      expect(bytes).toContain("1tQ-2");
      expect(bytes).not.toContain("a@b.example");
      const bad = await rewrite(["--config", file, "--rcpt", "a@b.example", "not-an-address"], MESSAGE(["X-Hookd-Track: opens"]));
      expect(bad.stderr).toMatch(/"not-an-address" is not a recipient address/);
    } finally {
      await serve.stop();
    }
  }, 30_000);

  test('track = "off": the message passes untouched, control headers and all, silently', async () => {
    const dir = tempDir();
    const file = config(dir, '[milter]\ntrack = "off"\n');
    const marked = MESSAGE(["X-Hookd-Track: all"]);
    const r = await rewrite(["--config", file, "--rcpt", "a@b.example"], marked);
    expect([r.code, r.stderr, r.stdout.equals(marked)]).toEqual([0, "", true]);
  });
});
