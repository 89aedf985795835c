import { eventually } from "../helpers/eventually.ts";
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { Database } from "bun:sqlite";
import { PAGE_FILES } from "../../src/admin/files.ts";
import { BUN, REPO_ROOT, childEnv, tempDir, within } from "../helpers/hookd.ts";

// The product is one executable: build it with `npm run build`'s own command and smoke-test it
// from a folder with nothing else in it (no node_modules, no public/, no config).

/** package.json's build script, with the output sent to `outfile`. */
function buildCommand(outfile: string): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { scripts: { build: string } };
  const argv = pkg.scripts.build.split(/\s+/);
  expect(argv[0]).toBe("bun");
  argv[0] = BUN;
  argv[argv.indexOf("--outfile") + 1] = outfile;
  return argv;
}

describe("dist/hookd, the single executable", () => {
  test("builds, prints its version, serves /healthz, the admin page and the API docs, and stops on SIGTERM", async () => {
    const dir = tempDir();
    const exe = path.join(dir, "hookd");
    const build = Bun.spawnSync(buildCommand(exe), { cwd: REPO_ROOT, stderr: "pipe" });
    expect(build.exitCode, build.stderr.toString()).toBe(0);

    const run = path.join(dir, "run");
    fs.mkdirSync(run);
    const version = Bun.spawnSync([exe, "--version"], { cwd: run, env: childEnv() });
    expect(version.exitCode).toBe(0);
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    expect(version.stdout.toString().trim()).toBe(`hookd ${pkg.version}`);

    const proc = Bun.spawn([exe, "serve"], {
      cwd: run,
      env: childEnv({ HOOKD_SERVER_LISTEN: "127.0.0.1:0" }),
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const reader = proc.stdout.getReader();
      let out = "";
      let url: string | null = null;
      const deadline = Date.now() + 15_000;
      while (!url && Date.now() < deadline) {
        const chunk = await within(reader.read(), Math.max(1, deadline - Date.now()), null);
        if (!chunk || chunk.done) break;
        out += new TextDecoder().decode(chunk.value);
        url = /"listen":"(http:\/\/[^"]+)"/.exec(out)?.[1] ?? null;
      }
      expect(url, out).not.toBeNull();
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as { version: string }).version).toBe(pkg.version);
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("hookd");
      // Every file of the admin page is embedded: the module graph loads from the binary alone.
      for (const [file, text] of Object.entries(PAGE_FILES)) {
        const res = await fetch(`${url}${file}`);
        expect(res.status, file).toBe(200);
        if (file.endsWith(".js")) expect(res.headers.get("content-type"), file).toBe("text/javascript; charset=utf-8");
        expect(await res.text(), file).toBe(text);
      }
      expect((await fetch(`${url}/docs`)).status).toBe(200);
      expect(((await (await fetch(`${url}/api/v1/openapi.json`)).json()) as { openapi: string }).openapi).toBe("3.1.0");
      // The store was created next to where it was started, as the defaults say.
      expect(fs.existsSync(path.join(run, "data", "hookd.db"))).toBe(true);
      reader.releaseLock();
    } finally {
      proc.kill("SIGTERM");
    }
    expect(await within(proc.exited, 10_000, "timeout")).toBe(0);

    // Log ingest runs in a worker thread, a second entry point of the build: the executable
    // must carry it. Lines from a log → events in the store, from a folder with nothing else.
    const log = path.join(dir, "mail.log");
    fs.writeFileSync(
      log,
      "Nov 23 13:07:09 mx1 postfix/qmgr[999]: 4BCD21C03F2: from=<news@example.com>, size=2048, nrcpt=1 (queue active)\n" +
        "Nov 23 13:07:10 mx1 postfix/smtp[1234]: 4BCD21C03F2: to=<a@example.org>, relay=mx.example.org[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)\n",
    );
    const config = path.join(dir, "ingest.toml");
    const store = path.join(dir, "ingest.db");
    fs.writeFileSync(
      config,
      `[server]\nlisten = "127.0.0.1:0"\n[storage]\npath = "${store}"\n[[sources]]\npath = "${log}"\nstart_at = "beginning"\n`,
    );
    const ingest = Bun.spawn([exe, "serve", "--config", config], { cwd: run, env: childEnv(), stdout: "pipe", stderr: "pipe" });
    let types: string[] = [];
    try {
      await eventually(
        () => {
          if (!fs.existsSync(store)) return false;
          const db = new Database(store, { readonly: true });
          try {
            types = (db.query("SELECT type FROM events ORDER BY seq").all() as { type: string }[]).map((r) => r.type);
          } catch {
            // created but not migrated yet
          } finally {
            db.close();
          }
          return types.length >= 2;
        },
        { timeoutMs: 15_000, intervalMs: 100 },
      ).catch(() => {});
    } finally {
      ingest.kill("SIGTERM");
    }
    expect(await within(ingest.exited, 10_000, "timeout")).toBe(0);
    expect(types, await new Response(ingest.stdout).text()).toEqual(["injection", "delivery"]);

    // The tracking listener is a third worker entry point: a pixel fetched from the binary's
    // listener becomes an open event.
    const trackConfig = path.join(dir, "track.toml");
    fs.writeFileSync(
      trackConfig,
      `[server]\nlisten = "127.0.0.1:0"\n[storage]\npath = "${path.join(dir, "track.db")}"\n[tracking]\nlisten = "127.0.0.1:0"\nbase_url = "https://t.example.com"\n`,
    );
    const tracker = Bun.spawn([exe, "serve", "--config", trackConfig], { cwd: run, env: childEnv(), stdout: "pipe", stderr: "pipe" });
    try {
      const reader = tracker.stdout.getReader();
      let out = "";
      let started: { listen: string; tracking: string } | null = null;
      const deadline = Date.now() + 15_000;
      while (!started && Date.now() < deadline) {
        const chunk = await within(reader.read(), Math.max(1, deadline - Date.now()), null);
        if (!chunk || chunk.done) break;
        out += new TextDecoder().decode(chunk.value);
        const line = out.split("\n").find((l) => l.includes('"hookd started"'));
        started = line ? (JSON.parse(line) as { listen: string; tracking: string }) : null;
      }
      expect(started?.tracking, out).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      let errText = "";
      void (async () => {
        for await (const c of tracker.stderr) errText += new TextDecoder().decode(c);
      })();
      const key = await eventually(() => /hookd_[A-Za-z0-9_-]{30,}/.exec(errText)?.[0]);
      const auth = { authorization: `Bearer ${key}`, "content-type": "application/json" };
      const rewritten = await fetch(`${started!.listen}/api/v1/tracking/rewrite`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ html: "<p>hi</p>", rcpt_to: "a@example.org", message_id: "m@example.com" }),
      });
      const html = ((await rewritten.json()) as { results: { html: string } }).results.html;
      const pixel = /src="https:\/\/t\.example\.com(\/o\/[^"]+)"/.exec(html)![1]!;
      const gif = await fetch(started!.tracking + pixel, { headers: { "user-agent": "Mozilla/5.0 (X11) Firefox/128.0" } });
      expect([gif.status, gif.headers.get("content-type")]).toEqual([200, "image/gif"]);
      await eventually(async () => {
        const page = (await (await fetch(`${started!.listen}/api/v1/events?type=open`, { headers: auth })).json()) as {
          results: { rcpt_to: string }[];
        };
        return page.results.length === 1 && page.results[0]!.rcpt_to === "a@example.org";
      });
      reader.releaseLock();
    } finally {
      tracker.kill("SIGTERM");
    }
    expect(await within(tracker.exited, 10_000, "timeout")).toBe(0);
  }, 120_000);
});
