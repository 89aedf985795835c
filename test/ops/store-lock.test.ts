// One hookd per store: a second `serve` on the same store is refused with a clear error
// while the first keeps serving; once the first is SIGKILLed its stale lock is taken over.
import { afterEach, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { eventuallyValue } from "../helpers/delivery.ts";
import { runHookd, spawnHookd, tempDir, type SpawnedHookd } from "../helpers/hookd.ts";

const procs: SpawnedHookd[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) if (p.proc.exitCode === null && p.proc.signalCode === null) await p.stop(5000);
});

async function webhooksStatus(url: string, key: string): Promise<number> {
  const res = await fetch(`${url}/api/v1/webhooks`, { headers: { authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(5000) });
  await res.arrayBuffer();
  return res.status;
}

test("a second instance on the same store exits 1 naming the store; after kill -9 of the first a new one takes the lock over", async () => {
  const dir = tempDir();
  const storePath = path.join(dir, "data", "hookd.db");
  const env = { HOOKD_STORAGE_PATH: storePath };
  const first = await spawnHookd({ cwd: dir, env });
  procs.push(first);
  const key = await eventuallyValue(() => /hookd_[A-Za-z0-9_-]{30,}/.exec(first.stderr())?.[0], { timeoutMs: 5000 });
  expect(fs.readFileSync(`${storePath}.lock`, "utf8").trim()).toBe(String(first.proc.pid));

  // The same store (an absolute path), started from another working directory.
  const second = await runHookd(["serve"], { env: { ...env, HOOKD_SERVER_LISTEN: "127.0.0.1:0" }, timeoutMs: 15_000 });
  expect(second.code).toBe(1);
  expect(second.stderr).toContain("already using the store");
  expect(second.stderr).toContain(storePath);
  expect(second.stderr).toContain(`pid ${first.proc.pid}`);
  expect(second.stdout).not.toContain('"hookd started"');
  // No new admin key was minted by the refused instance.
  expect(second.stderr).not.toMatch(/hookd_[A-Za-z0-9_-]{30,}/);

  // The first one is untouched: still serving, still owning the lock.
  expect(first.proc.exitCode).toBeNull();
  expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
  expect(await webhooksStatus(first.url, key)).toBe(200);
  expect(fs.readFileSync(`${storePath}.lock`, "utf8").trim()).toBe(String(first.proc.pid));

  // kill -9 leaves the lock file behind with a dead pid: the next start takes it over.
  first.proc.kill(9);
  await first.exited;
  expect(fs.existsSync(`${storePath}.lock`)).toBe(true);
  const third = await spawnHookd({ cwd: dir, env });
  procs.push(third);
  expect(fs.readFileSync(`${storePath}.lock`, "utf8").trim()).toBe(String(third.proc.pid));
  expect(await webhooksStatus(third.url, key)).toBe(200);

  // A clean stop releases the lock.
  expect(await third.stop(10_000)).toBe(0);
  expect(fs.existsSync(`${storePath}.lock`)).toBe(false);
}, 60_000);
