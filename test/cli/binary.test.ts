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

    const proc = Bun.spawn([exe, "serve"], { cwd: run, env: childEnv({ HOOKD_SERVER_LISTEN: "127.0.0.1:0" }), stdout: "pipe", stderr: "pipe" });
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
    fs.writeFileSync(config, `[server]\nlisten = "127.0.0.1:0"\n[storage]\npath = "${store}"\n[[sources]]\npath = "${log}"\nstart_at = "beginning"\n`);
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
  }, 120_000);
});
