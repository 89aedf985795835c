import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import type { Event } from "../../src/events/schema.ts";
import { openStore } from "../../src/store/open.ts";
import { createApiKey } from "../../src/store/sqlite/keys.ts";
import { SCOPES } from "../../src/store/api-keys.ts";
import { BUN, MAIN_TS, childEnv, spawnHookd, tempDir, type SpawnedHookd } from "../helpers/hookd.ts";
import { startReceiver, type Receiver } from "../helpers/receiver.ts";
import { envelopeOf } from "../../src/cli/feedback.ts";
import { parseArgs } from "../../src/cli/args.ts";
import { fixture } from "./helpers.ts";
import { sqliteOf } from "../../src/store/sqlite/driver.ts";
import { storeEvents } from "../helpers/store.ts";

// `hookd feedback` as a pipe transport runs it: the real entry point, the message written to
// its stdin through a pipe, the envelope in argv (Postfix: `hookd feedback -- ${sender}
// ${recipient}`), a real store file — beside a running `hookd serve` in the last test.

const TIMEOUT = 30_000;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

type Run = { code: number; stderr: string; ms: number };

async function feedback(dir: string, args: string[], message: Uint8Array, env: Record<string, string> = {}): Promise<Run> {
  const started = performance.now();
  const proc = Bun.spawn([BUN, MAIN_TS, "feedback", ...args], {
    cwd: dir,
    env: childEnv({ HOOKD_STORAGE_PATH: path.join(dir, "hookd.db"), ...env }),
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  proc.stdin.write(message);
  await proc.stdin.end();
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  return { code, stderr, ms: performance.now() - started };
}

function storedEvents(dir: string): Event[] {
  const db = new Database(path.join(dir, "hookd.db"), { readonly: true });
  try {
    return (db.query("SELECT body FROM events WHERE source = 'feedback' ORDER BY seq").all() as { body: string }[]).map(
      (r) => JSON.parse(r.body) as Event,
    );
  } finally {
    db.close();
  }
}

const GOOGLE_MID = "222222EA-20C2-2200-EEEE-2222CEEEEA21@example.jp";

async function storeOriginal(dir: string) {
  const store = openStore(path.join(dir, "hookd.db"));
  const e = {
    event_id: "orig-1",
    type: "injection",
    timestamp: new Date().toISOString(),
    host: "mx1",
    queue_id: "7F3A2B1C0D",
    message_id: GOOGLE_MID,
    rcpt_to: "michitsuna@example.org",
  } as Event;
  await storeEvents(store, [e], "api");
  store.close();
}

describe("hookd feedback (a pipe transport)", () => {
  test(
    "a DSN: exit 0 once stored, matched to the stored message; run again with the same message: exit 0, stored once",
    async () => {
      const dir = tempDir();
      storeOriginal(dir);
      const first = await feedback(dir, ["--", "", "bounces@feedback.example.com"], fixture("sisimai/rhost-google-06.eml"));
      expect(first).toMatchObject({ code: 0, stderr: "hookd feedback: dsn, matched by message_id: 1 event\n" });
      const second = await feedback(
        dir,
        ["--sender", "", "--recipient", "bounces@feedback.example.com"],
        fixture("sisimai/rhost-google-06.eml"),
      );
      expect(second).toMatchObject({ code: 0, stderr: "hookd feedback: dsn, matched by message_id: 1 event (1 already stored)\n" });
      const events = storedEvents(dir);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        type: "out_of_band",
        rcpt_to: "michitsuna@example.org",
        queue_id: "7F3A2B1C0D",
        message_id: GOOGLE_MID,
        host: "mx1",
      });
    },
    TIMEOUT,
  );

  test(
    "the store refusing writes (another connection holds the write lock past busy_timeout): exit 75, nothing stored; the MTA's retry: exit 0",
    async () => {
      const dir = tempDir();
      storeOriginal(dir);
      const holder = new Database(path.join(dir, "hookd.db"));
      holder.run("BEGIN IMMEDIATE");
      let refused: Run;
      try {
        refused = await feedback(dir, ["--", "MAILER-DAEMON", "bounces@feedback.example.com"], fixture("sisimai/rhost-google-06.eml"));
      } finally {
        holder.run("ROLLBACK");
        holder.close();
      }
      expect(refused.code).toBe(75);
      expect(refused.stderr).toContain("hookd feedback: feedback commit failed: database is locked; message kept for a retry");
      // It waited for the lock once (busy_timeout, 5 s), not once per write it tried.
      expect(refused.ms).toBeLessThan(9000);
      expect(storedEvents(dir)).toEqual([]);
      const retry = await feedback(dir, ["--", "MAILER-DAEMON", "bounces@feedback.example.com"], fixture("sisimai/rhost-google-06.eml"));
      expect(retry.code).toBe(0);
      expect(storedEvents(dir)).toHaveLength(1);
    },
    TIMEOUT,
  );

  test(
    "no report, or over feedback.max_size: exit 0 (never a bounce of a bounce), nothing stored",
    async () => {
      const dir = tempDir();
      const junk = await feedback(
        dir,
        ["--", "alice@example.org", "bounces@feedback.example.com"],
        fixture("sisimai/is-not-bounce-01.eml"),
      );
      expect(junk).toMatchObject({
        code: 0,
        stderr: "hookd feedback: not a report (not a bounce, complaint or unsubscribe mail): 0 events\n",
      });
      const big = new TextEncoder().encode(`Subject: big\r\n\r\n${"x".repeat(70)}\r\n`.repeat(1000));
      const over = await feedback(dir, ["--", "", "bounces@feedback.example.com"], big, { HOOKD_FEEDBACK_MAX_SIZE: "8192" });
      expect(over.code).toBe(0);
      expect(over.stderr).toBe(
        `hookd feedback: message of ${big.byteLength} bytes is larger than feedback.max_size (8192): not read, not stored (too_large)\n`,
      );
      expect(storedEvents(dir)).toEqual([]);
    },
    TIMEOUT,
  );

  test(
    "a config it cannot read: exit 75 (the MTA keeps the message); a wrong command line: exit 2",
    async () => {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, "bad.toml"), '[feedback]\nmax_size = "huge"\n');
      const bad = await feedback(dir, ["--config", "bad.toml", "--", "", "b@x.example"], fixture("sisimai/lhost-postfix-01.eml"));
      expect(bad.code).toBe(75);
      expect(bad.stderr).toContain("feedback.max_size: expected a size");
      const both = await feedback(
        dir,
        ["--sender", "", "--recipient", "b@x.example", "c@x.example"],
        fixture("sisimai/lhost-postfix-01.eml"),
      );
      expect(both.code).toBe(2);
      expect(both.stderr).toContain("not both");
      expect(fs.existsSync(path.join(dir, "hookd.db"))).toBe(false);
    },
    TIMEOUT,
  );

  test(
    "beside a running hookd serve (its lock untouched): the serve's delivery sends the piped report's event, no signal needed",
    async () => {
      const dir = tempDir();
      const db = path.join(dir, "hookd.db");
      const store = openStore(db);
      const key = (await store.keys.create("test", SCOPES, Date.now())).key;
      store.close();
      const rx: Receiver = await startReceiver();
      cleanups.push(() => rx.stop());
      const serve: SpawnedHookd = await spawnHookd({ cwd: dir, env: { HOOKD_STORAGE_PATH: db, HOOKD_DELIVERY_BATCH_MAX_WAIT: "0" } });
      cleanups.push(() => serve.stop());
      const created = await fetch(`${serve.url}/api/v1/webhooks`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "fb", target: `${rx.url}/hook`, events: ["out_of_band"], verification: "none" }),
      });
      expect(created.status).toBe(201);
      const lock = fs.readFileSync(`${db}.lock`, "utf8");

      const run = await feedback(dir, ["--", "", "bounces@feedback.example.com"], fixture("sisimai/lhost-postfix-01.eml"));
      expect(run.code).toBe(0);
      const stored = Date.now();
      await rx.waitFor((reqs) => reqs.some((q) => (q.json() as Event[]).some((e) => e.type === "out_of_band")), 10_000);
      // The delivery loop looks at the store at least once a second.
      expect(Date.now() - stored).toBeLessThan(3000);
      expect(fs.readFileSync(`${db}.lock`, "utf8")).toBe(lock);
      expect(serve.proc.exitCode).toBeNull();
    },
    TIMEOUT,
  );

  test("the envelope: argv (Postfix), flags, or Exim's pipe environment; MAILER-DAEMON and <> are the null sender", () => {
    const of = (argv: string[], env: Record<string, string> = {}) =>
      envelopeOf(parseArgs(["feedback", ...argv], ["--config", "--sender", "--recipient"]), env);
    const exim = { SENDER: "fbl@isp.example", RECIPIENT: "fbl@feedback.example.com" };
    expect(of(["--", "MAILER-DAEMON", "a@x.example", "b@x.example"], exim)).toEqual({
      mailFrom: "",
      rcptTo: ["a@x.example", "b@x.example"],
    });
    expect(of(["--sender", "<>", "--recipient", "<a@x.example>"], exim)).toEqual({ mailFrom: "", rcptTo: ["a@x.example"] });
    expect(of([], exim)).toEqual({ mailFrom: "fbl@isp.example", rcptTo: ["fbl@feedback.example.com"] });
    expect(of([])).toEqual({ mailFrom: "", rcptTo: [] });
  });
});
