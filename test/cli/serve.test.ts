import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { spawnHookd, tempDir, type SpawnedHookd } from "../helpers/hookd.ts";

const KEY = /hookd_[A-Za-z0-9_-]{30,}/g;

describe("hookd serve (real process)", () => {
  test("first start prints an admin key once on stderr; a second start on the same store does not", async () => {
    const dir = tempDir();
    const env = { HOOKD_STORAGE_PATH: path.join(dir, "data", "hookd.db") };
    let first: SpawnedHookd | null = null;
    let second: SpawnedHookd | null = null;
    try {
      first = await spawnHookd({ cwd: dir, env });
      expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(first.url).not.toEndWith(":0");
      const keys = first.stderr().match(KEY) ?? [];
      expect(keys).toHaveLength(1);
      const key = keys[0]!;
      // The structured log on stdout never carries the key itself.
      expect(first.stdoutLines.join("\n")).not.toContain(key);
      const started = first.stdoutLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "hookd started")!;
      expect(started).toMatchObject({ level: "info", listen: first.url });

      const ok = await fetch(`${first.url}/api/v1/webhooks`, { headers: { authorization: `Bearer ${key}` } });
      expect(ok.status).toBe(200);
      expect((await fetch(`${first.url}/healthz`)).status).toBe(200);

      expect(await first.stop()).toBe(0);
      expect(fs.existsSync(env.HOOKD_STORAGE_PATH)).toBe(true);
      first = null;

      second = await spawnHookd({ cwd: dir, env });
      // The first key still works after the restart.
      const again = await fetch(`${second.url}/api/v1/webhooks`, { headers: { authorization: key } });
      expect(again.status).toBe(200);
      // Stopped first, so everything it wrote on stderr has been read.
      const restarted = second;
      second = null;
      expect(await restarted.stop()).toBe(0);
      expect(restarted.stderr().match(KEY)).toBeNull();
      expect(restarted.stderr()).not.toContain("admin key");
    } finally {
      await first?.stop();
      await second?.stop();
    }
  }, 60_000);

  test("SIGTERM stops it cleanly: exit 0, port closed", async () => {
    const dir = tempDir();
    const h = await spawnHookd({ cwd: dir, env: { HOOKD_STORAGE_PATH: path.join(dir, "hookd.db") } });
    try {
      expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
      expect(await h.stop()).toBe(0);
      expect(h.stderr()).toContain("SIGTERM");
      const after = await fetch(`${h.url}/healthz`).then(
        () => "answered",
        () => "refused",
      );
      expect(after).toBe("refused");
    } finally {
      await h.stop();
    }
  }, 30_000);

  test("a bad config exits 2 before listening; a port in use exits 1", async () => {
    const failedStart = (opts: Parameters<typeof spawnHookd>[0]) =>
      spawnHookd({ startTimeoutMs: 10_000, ...opts }).then(
        async (h) => {
          await h.stop();
          return "started";
        },
        (e: Error) => e.message,
      );
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "hookd.toml"), `[delivery]\ntimeout = "six"\n`);
    const bad = await failedStart({ cwd: dir, env: { HOOKD_STORAGE_PATH: path.join(dir, "hookd.db") } });
    expect(bad).toMatch(/exited with 2/);
    expect(bad).toContain("hookd.toml: delivery.timeout: expected a duration");
    expect(fs.existsSync(path.join(dir, "hookd.db"))).toBe(false);

    const blocker = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("busy") });
    try {
      const dir2 = tempDir();
      const err = await failedStart({
        cwd: dir2,
        env: { HOOKD_STORAGE_PATH: path.join(dir2, "hookd.db"), HOOKD_SERVER_LISTEN: `127.0.0.1:${blocker.port}` },
      });
      expect(err).toMatch(/exited with 1/);
      expect(err).toContain(`127.0.0.1:${blocker.port}`);
    } finally {
      await blocker.stop(true);
    }
  }, 30_000);
});
