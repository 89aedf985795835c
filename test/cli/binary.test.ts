import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { BUN, REPO_ROOT, childEnv, tempDir, within } from "../helpers/hookd.ts";

// The product is one executable: build it the way `npm run build` does and smoke-test it
// from a folder with nothing else in it (no node_modules, no public/, no config).

describe("dist/hookd, the single executable", () => {
  test("builds, prints its version, serves /healthz, the admin page and the API docs, and stops on SIGTERM", async () => {
    const dir = tempDir();
    const exe = path.join(dir, "hookd");
    const build = Bun.spawnSync([BUN, "build", "--compile", "--minify", path.join(REPO_ROOT, "src/main.ts"), "--outfile", exe], { cwd: REPO_ROOT, stderr: "pipe" });
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
      const js = await fetch(`${url}/admin.js`);
      expect(js.status).toBe(200);
      expect((await fetch(`${url}/docs`)).status).toBe(200);
      expect(((await (await fetch(`${url}/api/v1/openapi.json`)).json()) as { openapi: string }).openapi).toBe("3.1.0");
      // The store was created next to where it was started, as the defaults say.
      expect(fs.existsSync(path.join(run, "data", "hookd.db"))).toBe(true);
      reader.releaseLock();
    } finally {
      proc.kill("SIGTERM");
    }
    expect(await within(proc.exited, 10_000, "timeout")).toBe(0);
  }, 120_000);
});
