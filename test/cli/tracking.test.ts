import { describe, expect, test } from "bun:test";
import path from "node:path";
import { eventually } from "../helpers/eventually.ts";
import { runHookd, spawnHookd, tempDir } from "../helpers/hookd.ts";

// `hookd tracking keys | rotate-key`, beside a running hookd: the listener (another process's
// thread) reads the rotated ring from the store without a restart.

describe("hookd tracking", () => {
  test("keys lists ids only; rotate-key makes a new current key that the running listener uses, the old one retiring", async () => {
    const dir = tempDir();
    const env = {
      HOOKD_STORAGE_PATH: path.join(dir, "hookd.db"),
      HOOKD_TRACKING_LISTEN: "127.0.0.1:0",
      HOOKD_TRACKING_BASE_URL: "https://t.example.com",
      HOOKD_TRACKING_KEY_VERIFY_FOR: "2s",
    };
    const h = await spawnHookd({ cwd: dir, env });
    try {
      const key = /hookd_[A-Za-z0-9_-]{30,}/.exec(h.stderr())![0];
      const started = h.stdoutLines.map((l) => JSON.parse(l) as { msg: string; tracking?: string }).find((l) => l.msg === "hookd started")!;
      expect(started.tracking).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${h.url}/api/v1/tracking/rewrite`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ html: "<p>hi</p>", rcpt_to: "alice@example.org", message_id: "m1@example.com" }),
      });
      const unsubscribe = ((await res.json()) as { results: { headers: Record<string, string> } }).results.headers[
        "List-Unsubscribe"
      ]!.slice(1, -1);
      const page = unsubscribe.replace("https://t.example.com", started.tracking!);
      expect((await fetch(page)).status).toBe(200); // GET /u: the confirmation page, nothing recorded

      const keys = await runHookd(["tracking", "keys"], { env, cwd: dir });
      expect([keys.code, keys.stdout]).toEqual([0, "ID\tSTATE\tVERIFIES UNTIL\n0\tcurrent (signs new links)\t-\n"]);
      const rotated = await runHookd(["tracking", "rotate-key"], { env, cwd: dir });
      expect(rotated.code).toBe(0);
      expect(rotated.stderr).toBe("rotated: key 1 signs new links; the previous key verifies for 2s more (tracking.key_verify_for)\n");
      expect(rotated.stdout).toMatch(
        /^ID\tSTATE\tVERIFIES UNTIL\n1\tcurrent \(signs new links\)\t-\n0\tretiring\t\d{4}-\d\d-\d\dT[\d:.]+Z\n$/,
      );
      // Past key_verify_for, the running listener refuses the old key's links.
      await eventually(async () => (await fetch(page)).status === 404, { timeoutMs: 10_000 });
      expect(h.stdoutLines.join("\n") + h.stderr()).not.toMatch(/"secret"|[A-Za-z0-9_-]{43}"/);
    } finally {
      await h.stop();
    }
  });

  test("usage errors exit 2", async () => {
    const dir = tempDir();
    for (const args of [["tracking"], ["tracking", "rotate"], ["tracking", "keys", "extra"]]) {
      const r = await runHookd(args, { env: { HOOKD_STORAGE_PATH: path.join(dir, "hookd.db") }, cwd: dir });
      expect([args.join(" "), r.code]).toEqual([args.join(" "), 2]);
      expect(r.stderr).toStartWith("hookd: ");
    }
  });
});
