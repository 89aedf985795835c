// SIGHUP re-reads the config file of a running `bun src/main.ts serve --config FILE`: a new
// [[sources]] entry starts tailing, a broken file is reported and the running config kept,
// a removed source stops.
import { afterEach, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { defaultConfig, SourceSchema } from "../../src/config/schema.ts";
import { eventuallyValue } from "../helpers/delivery.ts";
import { eventually } from "../helpers/eventually.ts";
import { spawnHookd, startTestApp, tempDir, type SpawnedHookd } from "../helpers/hookd.ts";
import { parseExposition } from "../helpers/prometheus.ts";
import { startReceiver } from "../helpers/receiver.ts";

let h: SpawnedHookd | null = null;
afterEach(async () => {
  if (h && h.proc.exitCode === null && h.proc.signalCode === null) await h.stop(5000);
  h = null;
});

type StoredEvent = { event_id: string; type: string; host: string; queue_id?: string; rcpt_to?: string };
type SourceView = { path: string; format: string; status: string; lines_read: number; offset: number };

async function get<T>(url: string, key: string, pathname: string): Promise<T> {
  const res = await fetch(`${url}/api/v1${pathname}`, { headers: { authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${pathname} → ${res.status}: ${text.slice(0, 300)}`);
  return (JSON.parse(text) as { results: T }).results;
}

const postfixMessage = (qid: string, rcpt: string) => [
  `Nov 23 13:07:01 mx1 postfix/qmgr[1002]: ${qid}: from=<a@example.com>, size=1234, nrcpt=1 (queue active)`,
  `Nov 23 13:07:02 mx1 postfix/smtp[1004]: ${qid}: to=<${rcpt}>, relay=mx.example.org[198.51.100.7]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 12345)`,
];

const toml = (s: string) => JSON.stringify(s);

test("SIGHUP starts a newly configured source; a broken file keeps the old config; removing the source stops it", async () => {
  const dir = tempDir();
  const configPath = path.join(dir, "hookd.toml");
  const logPath = path.join(dir, "mail.log");
  const base = `[storage]\npath = ${toml(path.join(dir, "hookd.db"))}\n\n[delivery]\nbatch_max_wait = "50ms"\n`;
  fs.writeFileSync(configPath, base);
  fs.writeFileSync(logPath, postfixMessage("4BCD21C03F2", "b@example.org").join("\n") + "\n");

  h = await spawnHookd({ cwd: dir, args: ["serve", "--config", configPath] });
  const proc = h;
  const key = await eventuallyValue(() => /hookd_[A-Za-z0-9_-]{30,}/.exec(proc.stderr())?.[0], { timeoutMs: 5000 });
  expect((await get<{ sources: SourceView[] }>(h.url, key, "/status")).sources).toEqual([]);
  expect(await get<StoredEvent[]>(h.url, key, "/events")).toEqual([]);

  // Add a source to the file and reload.
  const withSource = base + `\n[[sources]]\npath = ${toml(logPath)}\nformat = "postfix"\nstart_at = "beginning"\nhost = "mx1"\n`;
  fs.writeFileSync(configPath, withSource);
  h.proc.kill("SIGHUP");
  const events = await eventuallyValue(async () => {
    const e = await get<StoredEvent[]>(proc.url, key, "/events?type=injection,delivery");
    return e.length === 2 && e;
  });
  expect(events.map((e) => e.type).sort()).toEqual(["delivery", "injection"]);
  for (const e of events) expect(e).toMatchObject({ host: "mx1", queue_id: "4BCD21C03F2", rcpt_to: "b@example.org" });
  const status = await get<{ sources: SourceView[] }>(h.url, key, "/status");
  expect(status.sources).toHaveLength(1);
  expect(status.sources[0]).toMatchObject({ path: logPath, format: "postfix" });
  await eventually(() => h!.stdoutLines.some((l) => l.includes('"configuration reloaded"')));

  // A broken file: reported on stderr, the process keeps running with the old config.
  fs.writeFileSync(configPath, withSource + `\n[security]\nallow_private_targets = "maybe"\n`);
  h.proc.kill("SIGHUP");
  await eventually(() => h!.stderr().includes("not reloaded"), { timeoutMs: 5000 });
  expect(h.stderr()).toContain("security.allow_private_targets");
  expect(h.proc.exitCode).toBeNull();
  expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  // The source from the last good config is still tailing.
  fs.appendFileSync(logPath, postfixMessage("5CDE32D14A3", "c@example.org").join("\n") + "\n");
  await eventually(async () => (await get<StoredEvent[]>(proc.url, key, "/events?rcpt_to=c@example.org")).length === 2);
  expect((await get<{ sources: SourceView[] }>(h.url, key, "/status")).sources.map((s) => s.path)).toEqual([logPath]);

  // A syntax error is reported the same way.
  fs.writeFileSync(configPath, withSource + "\n[delivery\n");
  const before = h.stderr().split("not reloaded").length;
  h.proc.kill("SIGHUP");
  await eventually(() => h!.stderr().split("not reloaded").length > before, { timeoutMs: 5000 });
  expect(h.proc.exitCode).toBeNull();

  // Back to no sources: the tailer stops, later lines are not read.
  fs.writeFileSync(configPath, base);
  h.proc.kill("SIGHUP");
  await eventually(async () => (await get<{ sources: SourceView[] }>(proc.url, key, "/status")).sources.length === 0);
  fs.appendFileSync(logPath, postfixMessage("6DEF43E25B4", "d@example.org").join("\n") + "\n");
  // The witness: only then is another file configured, and hookd reads it to its end. A
  // tailer left running on mail.log was woken by the append before all that (a reload, a
  // new tailer, a read and a commit), so by now it would have stored d@'s events.
  const otherPath = path.join(dir, "other.log");
  fs.writeFileSync(otherPath, postfixMessage("7EF054F36C5", "e@example.org").join("\n") + "\n");
  fs.writeFileSync(
    configPath,
    base + `\n[[sources]]\npath = ${toml(otherPath)}\nformat = "postfix"\nstart_at = "beginning"\nhost = "mx1"\n`,
  );
  h.proc.kill("SIGHUP");
  await eventually(async () => {
    const [other] = (await get<{ sources: SourceView[] }>(proc.url, key, "/status")).sources;
    const stored = await get<StoredEvent[]>(proc.url, key, "/events?rcpt_to=e@example.org");
    return other?.path === otherPath && other.offset === fs.statSync(otherPath).size && stored.length === 2;
  });
  expect(await get<StoredEvent[]>(h.url, key, "/events?rcpt_to=d@example.org")).toEqual([]);

  expect(await h.stop(10_000)).toBe(0);
}, 60_000);

test("two reloads in quick succession (two SIGHUPs) that change a source leave one tailer for it: lines are read once", async () => {
  const dir = tempDir();
  const logPath = path.join(dir, "mail.log");
  fs.writeFileSync(logPath, "");
  const source = (host: string) => SourceSchema.parse({ path: logPath, format: "postfix", start_at: "beginning", host });
  const app = await startTestApp({ sources: [source("mx1")] });
  try {
    // What serve does on each SIGHUP: load the file, then reload without waiting for the last one.
    const next = () => ({ ...app.config, sources: [source("mx2")] });
    await Promise.all([app.hookd.reload(next()), app.hookd.reload(next())]);
    const garbage = ["not a syslog line", "neither is this"];
    fs.appendFileSync(logPath, [...postfixMessage("7EF054F36C5", "e@example.org"), ...garbage].join("\n") + "\n");
    const lines = async () =>
      parseExposition(await (await fetch(`${app.url}/metrics`)).text()).value("hookd_source_lines_total", { source: logPath }) ?? 0;
    await eventually(async () => (await lines()) >= 4);
    // The witness: two more lines, written once the first four were read, are read too. A
    // second tailer, woken by the first append as the first one was, would have read those
    // four again by now.
    fs.appendFileSync(logPath, postfixMessage("8F0165047D6", "f@example.org").join("\n") + "\n");
    await eventually(async () => (await lines()) >= 6);
    const m = parseExposition(await (await fetch(`${app.url}/metrics`)).text());
    expect({
      lines: m.value("hookd_source_lines_total", { source: logPath }),
      notUnderstood: m.value("hookd_source_lines_not_understood_total", { source: logPath }),
    }).toEqual({ lines: 6, notUnderstood: 2 });
    const events = (await (await app.api("GET", "/events")).json()) as { results: StoredEvent[] };
    expect(events.results.map((e) => e.host).sort()).toEqual(["mx2", "mx2", "mx2", "mx2"]);
  } finally {
    await app.stop();
  }
}, 30_000);

test("a reload swaps in the new delivery timeout without editing the config hookd started with; OAuth2 token requests follow it", async () => {
  const rx = await startReceiver();
  const tokens = await startReceiver();
  const app = await startTestApp({ delivery: { ...defaultConfig().delivery, timeout: 30_000 } });
  try {
    const started = structuredClone(app.config);
    const created = await app.api("POST", "/webhooks", {
      body: {
        name: "slow",
        target: `${rx.url}/hook`,
        events: ["delivery"],
        verification: "none",
        auth_type: "oauth2",
        auth_request_details: { url: `${tokens.url}/token`, body: { client_id: "c", client_secret: "s" } },
      },
    });
    expect(created.status).toBe(201);
    const { id } = ((await created.json()) as { results: { id: string } }).results;
    await app.hookd.reload({ ...app.config, delivery: { ...app.config.delivery, timeout: 300 } });
    expect(app.config).toEqual(started);

    // The token endpoint hangs: the new 300 ms bounds the token request, not the old 30 s.
    tokens.hang();
    const t0 = performance.now();
    const r = (await (await app.api("POST", `/webhooks/${id}/validate`)).json()) as { results: { failure_code: string | null } };
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(r.results.failure_code).toMatch(/oauth2/);

    // A receiver that hangs after the token came: the attempt times out at 300 ms too.
    tokens.respondWith({
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ access_token: "t", expires_in: 3600 }),
    });
    rx.hang();
    const t1 = performance.now();
    const r2 = (await (await app.api("POST", `/webhooks/${id}/validate`)).json()) as { results: { failure_code: string | null } };
    expect(performance.now() - t1).toBeLessThan(5_000);
    expect(r2.results.failure_code).toBe("timeout");
  } finally {
    await app.stop();
    await rx.stop();
    await tokens.stop();
  }
}, 30_000);
