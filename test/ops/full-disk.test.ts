// The store on a disk that fills up, for real: a 8 MB tmpfs holding hookd's store, filled
// with a file until the kernel says ENOSPC. Reads must keep working (authentication's
// last-used write is best effort), writes answer 507 store_full, and once space is freed
// writes work again. Mounting needs root (CAP_SYS_ADMIN); the test says so if it cannot.
import { afterEach, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { createWebhook, results } from "../helpers/delivery.ts";
import { errorBody, startTestApp, tempDir, type TestApp } from "../helpers/hookd.ts";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function run(cmd: string[]): void {
  const r = Bun.spawnSync(cmd, { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (this test needs root to mount a tmpfs): ${r.stderr.toString().trim()}`);
}

/** A fresh tmpfs of `size` mounted on a temp folder, unmounted after the test. */
function smallDisk(size: string): string {
  const dir = tempDir();
  run(["mount", "-t", "tmpfs", "-o", `size=${size},mode=0700`, "tmpfs", dir]);
  cleanup.push(() => run(["umount", "-l", dir]));
  return dir;
}

/** Writes a file until the disk refuses another byte; returns its path. */
function fill(dir: string): string {
  const filler = path.join(dir, "filler");
  const fd = fs.openSync(filler, "a");
  try {
    for (const chunk of [1 << 20, 1 << 16, 1 << 12, 1 << 9, 1]) {
      const buf = Buffer.alloc(chunk, 1);
      for (;;) {
        try {
          if (fs.writeSync(fd, buf) < chunk) break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
          break;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

const someEvents = (tag: string) =>
  Array.from({ length: 200 }, (_, i) => ({
    type: "open",
    event_id: `${tag}-${i}`,
    rcpt_to: `u${i}@example.org`,
    metadata: { note: "n".repeat(400) },
  }));

test("store's disk full: GET /webhooks and /status answer 200 (with a key never used before), writes 507 store_full, and work again once space is freed", async () => {
  const disk = smallDisk("8m");
  const log = path.join(tempDir(), "mail.log");
  fs.writeFileSync(log, "");
  const app: TestApp = await startTestApp({
    storage: { path: path.join(disk, "hookd.db") },
    sources: [{ path: log, format: "postfix", start_at: "beginning", host: "mx1", rotate_wait: 1000 }],
  });
  cleanup.push(() => app.stop());
  const reader = (await app.hookd.store.keys.create("reader", ["webhooks:read"], Date.now())).key;
  const wh = await createWebhook(app, "http://127.0.0.1:9/unused");
  expect((await app.api("POST", "/events", { body: someEvents("before") })).status).toBe(200);

  const filler = fill(disk);
  expect(fs.statfsSync(disk).bavail).toBe(0);

  const list = await results<{ id: string }[]>(app.api("GET", "/webhooks", { key: reader }));
  expect(list.map((w) => w.id)).toEqual([wh.id]);
  const status = await results<{ webhooks: { id: string }[]; sources: Record<string, unknown>[] }>(
    app.api("GET", "/status", { key: reader }),
  );
  expect(status.webhooks.map((w) => w.id)).toEqual([wh.id]);
  // The shape the ingest side fills in: a source that cannot store says why.
  expect(status.sources.map((src) => [src.path, "last_error" in src])).toEqual([[log, true]]);

  for (const [method, p, body] of [
    ["POST", "/events", someEvents("full")],
    ["POST", "/webhooks", { name: "second", target: "http://127.0.0.1:9/x", events: ["*"], verification: "none" }],
  ] as const) {
    const res = await app.api(method, p, { body });
    expect({ p, status: res.status }).toEqual({ p, status: 507 });
    const { errors } = await errorBody(res);
    expect(errors.map((e) => e.code)).toEqual(["store_full"]);
    expect(errors[0]!.message).toContain("full");
  }
  expect(await results<{ event_id: string }[]>(app.api("GET", "/events?limit=1000"))).toHaveLength(200);

  fs.rmSync(filler);
  expect((await app.api("POST", "/events", { body: someEvents("after") })).status).toBe(200);
});
