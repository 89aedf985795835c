// The store holds receiver credentials and signing keys: the real `bun src/main.ts serve`,
// started with the usual umask 022, must create its folder 0700 and the database, WAL and
// SHM 0600, and warn (naming path, mode and the chmod) about a store made before that
// others can read.
import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { spawnHookd, tempDir, type SpawnedHookd } from "../helpers/hookd.ts";

const procs: SpawnedHookd[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.stop(5000);
});

const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);

/** hookd started by a parent whose umask lets group and others read what it creates. */
async function startWithUmask022(storePath: string) {
  const before = process.umask(0o022);
  try {
    const h = await spawnHookd({ cwd: tempDir(), env: { HOOKD_STORAGE_PATH: storePath } });
    procs.push(h);
    return h;
  } finally {
    process.umask(before);
  }
}

const warnings = (h: SpawnedHookd) =>
  h.stdoutLines
    .map((l) => JSON.parse(l) as { level: string; msg: string; path?: string; mode?: string; fix?: string })
    .filter((l) => l.level === "warn" && l.msg.includes("readable by other users"));

test("a new store: folder 0700, database, -wal and -shm 0600, and no warning", async () => {
  const storePath = path.join(tempDir(), "state", "hookd.db");
  const h = await startWithUmask022(storePath);
  // The first admin key was written at start: the WAL exists.
  const modes = Object.fromEntries(
    [path.dirname(storePath), storePath, `${storePath}-wal`, `${storePath}-shm`].map((p) => [path.basename(p), mode(p)]),
  );
  expect(modes).toEqual({ state: "700", "hookd.db": "600", "hookd.db-wal": "600", "hookd.db-shm": "600" });
  expect(mode(`${storePath}.lock`)).toBe("600");
  expect(warnings(h)).toEqual([]);
});

test("a store from before, 0644 in a 0755 folder: a warning per path with its mode and the chmod; hookd still starts", async () => {
  const folder = path.join(tempDir(), "old");
  fs.mkdirSync(folder);
  const storePath = path.join(folder, "hookd.db");
  new Database(storePath, { create: true }).close();
  fs.chmodSync(folder, 0o755);
  fs.chmodSync(storePath, 0o644);
  const h = await startWithUmask022(storePath);
  expect(warnings(h).map((w) => [w.path, w.mode, w.fix])).toEqual([
    [folder, "0755", `chmod 700 ${folder}`],
    [storePath, "0644", `chmod 600 ${storePath}`],
  ]);
  expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
});
